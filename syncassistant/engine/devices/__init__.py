"""Devices and the desktop: removable drives (UDisks2, mountinfo), network state (NetworkManager),
desktop notifications, over D-Bus (jeepney), no Qt."""
