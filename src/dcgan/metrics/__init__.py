"""Sample-quality measures: how good a generator is, in numbers.

nn_protocol.py   the paper's nearest-neighbour protocol for a class-conditional G (appendix, table 3)
"""

from .nn_protocol import NNProtocolReport, nn_protocol, nn_protocol_files

__all__ = ["NNProtocolReport", "nn_protocol", "nn_protocol_files"]
