"""The pure core: order types, validation, normalisation and the contract's strings."""
