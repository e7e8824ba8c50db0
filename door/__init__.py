"""A reference door controller: unlocks only for signed, fresh, first-seen AUTHORIZED decisions.

Not part of the Lambda code (Chalice deploys ``chalicelib/`` only) and independent of it:
a door vendor reimplements this from the signed message as docs/cameras-and-doors.md describes it.
"""
