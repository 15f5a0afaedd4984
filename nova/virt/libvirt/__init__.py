"""The libvirt (QEMU/KVM) virt driver."""
