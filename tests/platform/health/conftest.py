"""The health tests share fixtures through ``tests.platform.health.health_fixtures``."""
