"""`python -m slant.cli`: the same command line as `slant`."""

from slant.cli import main

main()
