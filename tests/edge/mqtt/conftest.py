from tests.mosquitto import mosquitto, private_mosquitto  # noqa: F401  (fixtures)
from tests.postgres import postgres  # noqa: F401  (fixture)
