"""The demo: sample documents rendered for `load_demo`, with a Factur-X invoice."""
