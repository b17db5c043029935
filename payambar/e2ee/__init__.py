"""Payambar's end-to-end encryption, version 1, as docs/e2ee.md writes it down."""

from payambar.e2ee.envelope import BadEnvelope, Envelope, parse
from payambar.e2ee.keys import BadKeys, Bundle, DeviceList, parse_bundle, parse_device_list, parse_one_time
from payambar.e2ee.primitives import DecryptError
from payambar.e2ee.safety import safety_number
from payambar.e2ee.session import DeviceState, Opened, Recipient

__all__ = [
    "BadEnvelope",
    "BadKeys",
    "Bundle",
    "DecryptError",
    "DeviceList",
    "DeviceState",
    "Envelope",
    "Opened",
    "Recipient",
    "parse",
    "parse_bundle",
    "parse_device_list",
    "parse_one_time",
    "safety_number",
]
