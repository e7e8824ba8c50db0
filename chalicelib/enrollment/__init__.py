"""Employees and their faces: the enrollment and lookup services, the employee rules and the
drop folder."""
