"""nova-dhcpbridge: dnsmasq's ``--dhcp-script``, relaying lease changes.

dnsmasq runs ``nova-dhcpbridge ACTION [MAC IP [HOSTNAME]]``:

* ``add`` / ``old`` (a lease granted or renewed) cast ``lease_fixed_ip``
  and ``del`` (a lease ended) casts ``release_fixed_ip`` to
  ``network.<host>``, the nova-network that started this dnsmasq
  (``NOVA_NETWORK_HOST`` in the environment, else the ``host`` flag);
* ``init`` (dnsmasq starting with ``--leasefile-ro``) prints the leases
  the database knows for the bridge in ``DNSMASQ_INTERFACE``, in dnsmasq's
  lease-file format, so a restarted dnsmasq keeps them;
* any other action is ignored.

Flags come from the file named by ``FLAGFILE`` (nova-network writes one;
see nova.network.linux_net.dhcpbridge_flagfile).  Failures are logged and
reported by the exit status, never raised into dnsmasq.
"""

import os
import sys
import time

from nova import flags
from nova import log as logging

LOG = logging.getLogger('nova.dhcpbridge')
FLAGS = flags.FLAGS


def _cast(method, address, mac):
    from nova import context
    from nova import rpc
    host = os.environ.get('NOVA_NETWORK_HOST') or FLAGS.host
    topic = '%s.%s' % (FLAGS.network_topic, host)
    rpc.cast(context.get_admin_context(), topic,
             {'method': method, 'args': {'address': address, 'mac': mac}})
    LOG.info('%s %s (%s) -> %s', method, address, mac, topic)


def leases(bridge, now=None):
    """Lines of dnsmasq's lease file for the leased addresses of the
    network on ``bridge``."""
    from nova import context
    from nova import exception
    from nova.db import api as db
    ctxt = context.get_admin_context()
    try:
        network = db.network_get_by_bridge(ctxt, bridge)
    except exception.NetworkNotFound:
        return []
    expiry = int(now if now is not None else time.time()) + \
        FLAGS.dhcp_lease_time
    lines = []
    for fixed_ip in db.network_get_associated_fixed_ips(ctxt, network['id']):
        instance = fixed_ip['instance']
        if not fixed_ip['leased'] or instance is None:
            continue
        lines.append('%d %s %s %s *' % (expiry, instance['mac_address'],
                                        fixed_ip['address'],
                                        instance['hostname'] or '*'))
    return lines


USAGE = """usage: nova-dhcpbridge add|old|del MAC IP [HOSTNAME] | init

dnsmasq's --dhcp-script: add/old mark the fixed IP leased, del releases it
(cast to nova-network on this host); init prints the leases nova knows.
Flags come from the file named by the FLAGFILE environment variable.
"""


def main(argv=None):
    argv = list(sys.argv if argv is None else argv)
    if any(a in ('-h', '--help') for a in argv[1:]):
        sys.stdout.write(USAGE)
        return 0
    flagfile = os.environ.get('FLAGFILE')
    parse_argv = [argv[0]] + (['--flagfile=%s' % flagfile] if flagfile
                              else [])
    try:
        flags.parse(parse_argv)
        import nova.network.linux_net  # noqa: F401 - its flags
        import nova.network.manager  # noqa: F401 - its flags
    except flags.FlagfileError as e:
        sys.stderr.write('nova-dhcpbridge: %s\n' % e)
        return 2
    logging.setup('nova-dhcpbridge')
    if len(argv) < 2:
        sys.stderr.write(USAGE)
        return 2
    action = argv[1]
    try:
        if action in ('add', 'old', 'del'):
            if len(argv) < 4:
                sys.stderr.write('nova-dhcpbridge: %s needs MAC and IP\n'
                                 % action)
                return 2
            mac, address = argv[2], argv[3]
            method = 'release_fixed_ip' if action == 'del' \
                else 'lease_fixed_ip'
            _cast(method, address, mac)
        elif action == 'init':
            bridge = os.environ.get('DNSMASQ_INTERFACE', '')
            for line in leases(bridge):
                print(line)
        else:
            LOG.debug('ignoring action %s', action)
    except Exception:  # noqa: BLE001 - dnsmasq only sees the status
        LOG.exception('nova-dhcpbridge %s failed', ' '.join(argv[1:]))
        return 1
    finally:
        from nova import rpc
        rpc.cleanup()
    return 0
