"""Implementations of the AuditLog port (`sweep.audit`)."""
