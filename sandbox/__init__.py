"""The offline facegate stack (never deployed): moto as local AWS, an event pump, a CLI."""
