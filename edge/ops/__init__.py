"""Operations: metrics, health, the HTTP endpoints that serve them, systemd notification, logs, clock."""
