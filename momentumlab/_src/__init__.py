"""Private implementation of momentumlab. Public names are re-exported by the packages."""
