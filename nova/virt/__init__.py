"""Hypervisor drivers: the only code that touches guests (libvirt, fake)."""
