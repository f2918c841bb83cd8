"""Bastion: self-hosted AWS IoT Core identity-based authorization."""

__version__ = "0.1.0"
