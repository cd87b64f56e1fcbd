"""Errors the service raises and how they become HTTP answers.

ServiceError
└── AssistantUnavailable   Rasa or the action server did not answer in time (503)
"""

from __future__ import annotations


class ServiceError(Exception):
    status_code = 500


class AssistantUnavailable(ServiceError):
    status_code = 503
