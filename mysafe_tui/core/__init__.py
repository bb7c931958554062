"""The domain, without I/O: the items and their one field table (models.py, extras.py), errors,
the escaping of outside text (sanitize.py), crypto primitives and the KDF (crypto.py, kdf.py),
share-link keys (sharecrypto.py), TOTP, the generator, the health checks and small helpers.

Nothing here touches a file, the network or a user interface: those rooms import this one.
"""
