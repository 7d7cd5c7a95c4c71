"""The ``mqtt`` config section: off by default, checked bounds and pairs."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from edge.config.mqtt import MqttConfig
from edge.config.site import SiteConfig
from tests.edge.mqtt.builders import site_dict


def test_existing_site_files_stay_valid_and_mqtt_is_off_by_default():
    data = site_dict(None)
    del data["mqtt"]
    assert SiteConfig.model_validate(data).mqtt.enabled is False


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"protocol": "4"}, "protocol"),
        ({"port": 0}, "greater than or equal to 1"),
        ({"tls": {"cert_file": "c.pem"}}, "cert_file and mqtt.tls.key_file must be given together"),
        ({"reconnect_min_s": 10, "reconnect_max_s": 2}, "reconnect_max_s"),
        ({"topic_prefix": "a/+/b"}, "pattern"),
        ({"brokr": "x"}, "Extra inputs"),
    ],
)
def test_bad_sections_name_the_problem(section, message):
    with pytest.raises(ValidationError, match=message):
        MqttConfig.model_validate(section)
