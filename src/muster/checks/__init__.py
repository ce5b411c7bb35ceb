"""Health checks: definitions and validation (definition.py); runners arrive one module per kind."""
