from tests.mosquitto import mosquitto, private_mosquitto  # noqa: F401  (fixtures)
