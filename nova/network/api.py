"""The network service as other services see it: RPC to topic ``network``.

Compute calls these while building and tearing down instances; every call
waits for the answer (``rpc.call``), so a failure surfaces where it can be
recorded on the instance.
"""

from nova import flags
from nova import rpc

FLAGS = flags.FLAGS


class API:

    def _call(self, context, method, **args):
        return rpc.call(context, FLAGS.network_topic,
                        {'method': method, 'args': args})

    def allocate_for_instance(self, context, instance_id, **kwargs):
        """network_info of a new address for the instance."""
        return self._call(context, 'allocate_for_instance',
                          instance_id=instance_id, **kwargs)

    def deallocate_for_instance(self, context, instance_id, **kwargs):
        """Free the instance's addresses; returns them."""
        return self._call(context, 'deallocate_for_instance',
                          instance_id=instance_id, **kwargs)

    def get_instance_nw_info(self, context, instance_id):
        return self._call(context, 'get_instance_nw_info',
                          instance_id=instance_id)
