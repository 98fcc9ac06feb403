-- Tables for examples/plant-history-mysql.json (MariaDB 10.5+ or MySQL 8).
-- The flow creates them itself when deployed; this file is for DBAs who create them by hand.
CREATE TABLE IF NOT EXISTS m2m_telemetry (
  id BIGINT AUTO_INCREMENT PRIMARY KEY,
  device_id VARCHAR(128) NOT NULL,
  ts DATETIME(3) NOT NULL,
  payload JSON NOT NULL,
  units JSON NULL,
  INDEX m2m_telemetry_device_ts (device_id, ts)
);

CREATE TABLE IF NOT EXISTS m2m_alarm_events (
  id BIGINT AUTO_INCREMENT PRIMARY KEY,
  alarm_id VARCHAR(300) NOT NULL,
  device_id VARCHAR(128) NOT NULL,
  rule VARCHAR(128) NOT NULL,
  metric VARCHAR(128) NULL,
  severity VARCHAR(16) NOT NULL,
  event VARCHAR(16) NOT NULL,
  active BOOLEAN NOT NULL,
  acknowledged BOOLEAN NOT NULL,
  value DOUBLE NULL,
  threshold DOUBLE NULL,
  ts DATETIME(3) NOT NULL,
  text VARCHAR(512) NULL,
  INDEX m2m_alarm_events_device_ts (device_id, ts),
  INDEX m2m_alarm_events_alarm (alarm_id)
);
