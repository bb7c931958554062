"""`mysafe serve`: a self-hostable MySafe-compatible server (API.md §1–4), an optional extra."""
