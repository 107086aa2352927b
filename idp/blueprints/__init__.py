"""Screens and devices: one blueprint per module, one template per screen."""
