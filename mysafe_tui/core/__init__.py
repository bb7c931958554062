"""Pure local logic: models, errors, crypto, the encrypted vault, search and helpers.

Nothing in this package touches the network or a user interface.
"""
