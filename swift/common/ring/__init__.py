"""Consistent-hash rings: ``Ring`` for readers, ``RingBuilder`` for operators."""

from swift.common.ring.builder import RingBuilder
from swift.common.ring.ring import Ring, RingData

__all__ = ['Ring', 'RingBuilder', 'RingData']
