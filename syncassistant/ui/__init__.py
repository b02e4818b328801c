"""The Qt tray application (see app.py and main.py); the engine it drives is `syncassistant.engine`."""
