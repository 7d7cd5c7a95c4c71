"""The traffic centre beyond the MQTT collector: evidence uploads from the boxes, central review, analytics."""
