// placeholder: written by its owner (see docs/internals/launcher-contract.md)
