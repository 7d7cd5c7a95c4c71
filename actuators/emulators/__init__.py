"""Faithful protocol emulators of the output devices, each a real server on 127.0.0.1.

Used by the tests and the latency benchmark, and handy for commissioning a site file
before the hardware is there.
"""
