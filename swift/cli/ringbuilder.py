"""swift-ring-builder: create and change ring builder files, write rings.

Exit codes: 0 = done (something changed or was shown), 1 = warning (nothing
to do, or the balance is still poor), 2 = error.  A command that fails saves
nothing.
"""

import os
import sys
import time

from swift.common import exceptions
from swift.common.ring.builder import RingBuilder, parse_add_value

EXIT_SUCCESS = 0
EXIT_WARNING = 1
EXIT_ERROR = 2

USAGE = """\
swift-ring-builder <builder_file>
    Shows information about the ring and its devices.

swift-ring-builder <builder_file> create <part_power> <replicas> <min_part_hours>
    Creates a new builder file (2^part_power partitions, each stored
    <replicas> times, moved at most once per <min_part_hours>).

swift-ring-builder <builder_file> add z<zone>-<ip>:<port>/<device_name>_<meta> <weight>
    [z<zone>-<ip>:<port>/<device_name>_<meta> <weight>] ...
    Adds devices; they get partitions at the next rebalance.

swift-ring-builder <builder_file> search <search-value>
    Shows the devices that match the search value.

swift-ring-builder <builder_file> set_weight <search-value> <weight>
    [<search-value> <weight>] ...
    Changes the weight of the matching devices (takes effect at rebalance).

swift-ring-builder <builder_file> set_info <search-value> <ip>:<port>/<device_name>_<meta>
    Changes the address/name/meta of the matching device (one device).

swift-ring-builder <builder_file> remove <search-value> [search-value ...]
    Removes the matching devices (their partitions move at rebalance).

swift-ring-builder <builder_file> rebalance
    Reassigns partitions, then saves the builder and writes the ring.

swift-ring-builder <builder_file> validate
    Checks the builder for internal consistency.

swift-ring-builder <builder_file> write_ring
    Writes <name>.ring.gz from the builder's current assignment.

swift-ring-builder <builder_file> set_min_part_hours <hours>
swift-ring-builder <builder_file> pretend_min_part_hours_passed

Search values look like d<id>z<zone>-<ip>:<port>/<device_name>_<meta>; every
part is optional (e.g. d74, z1-10.0.0.1, -10.0.0.1:6002, /sdb1, _fast).
Exit codes: 0 success, 1 warning (nothing changed), 2 error.
"""


class CommandError(Exception):
    """Bad arguments or a builder refusing a change: exit 2, save nothing."""


def ring_file_for(builder_file):
    base = builder_file
    if base.endswith('.builder'):
        base = base[:-len('.builder')]
    return base + '.ring.gz'


def format_dev(dev):
    return 'd%(id)sz%(zone)s-%(ip)s:%(port)s/%(device)s_"%(meta)s"' % dev


class Commands:
    def __init__(self, builder_file, out):
        self.builder_file = builder_file
        self.out = out
        self.builder = None

    def say(self, text=''):
        self.out.write(text + '\n')

    def load(self):
        if not os.path.exists(self.builder_file):
            raise CommandError('Ring Builder file does not exist: %s'
                               % self.builder_file)
        self.builder = RingBuilder.load(self.builder_file)

    def save(self):
        self.builder.save(self.builder_file)

    def _matching(self, search_value):
        devs = self.builder.search_devs(search_value)
        if not devs:
            raise CommandError('Search value "%s" matched 0 devices.'
                               % search_value)
        return devs

    # --- commands -----------------------------------------------------

    def default(self, args):
        self.load()
        b = self.builder
        live = [d for d in b.devs if d is not None]
        self.say('%s, build version %d' % (self.builder_file, b.version))
        self.say('%d partitions, %d replicas, %d zones, %d devices, '
                 '%.02f balance' % (b.parts, b.replicas, b.zone_count(),
                                    len(live), b.get_balance()))
        self.say('The minimum number of hours before a partition can be '
                 'reassigned is %s' % b.min_part_hours)
        if live:
            self.say('Devices:    id  zone      ip address  port      name '
                     'weight partitions balance meta')
            for dev in live:
                self.say('         %5d %5d %15s %5d %9s %6.02f %10s %7.02f %s'
                         % (dev['id'], dev['zone'], dev['ip'], dev['port'],
                            dev['device'], dev['weight'], dev['parts'],
                            b.dev_balance(dev), dev['meta']))
        return EXIT_SUCCESS

    def create(self, args):
        if len(args) != 3:
            raise CommandError('create needs <part_power> <replicas> '
                               '<min_part_hours>')
        try:
            part_power, replicas, hours = (int(a) for a in args)
        except ValueError:
            raise CommandError('create arguments must be integers')
        builder_dir = os.path.dirname(os.path.abspath(self.builder_file))
        if not os.path.isdir(builder_dir):
            raise CommandError('directory %s does not exist' % builder_dir)
        self.builder = RingBuilder(part_power, replicas, hours)
        self.save()
        return EXIT_SUCCESS

    def add(self, args):
        if not args or len(args) % 2:
            raise CommandError('add needs pairs of <device value> <weight>')
        self.load()
        new = []
        for value, weight in zip(args[::2], args[1::2]):
            dev = parse_add_value(value)
            try:
                dev['weight'] = float(weight)
            except ValueError:
                raise CommandError('Invalid weight value: %s' % weight)
            new.append(dev)
        for dev in new:
            dev_id = self.builder.add_dev(dev)
            self.say('Device %s with %s weight got id %s'
                     % (format_dev(dict(dev, id=dev_id)), dev['weight'],
                        dev_id))
        self.save()
        return EXIT_SUCCESS

    def search(self, args):
        if len(args) != 1:
            raise CommandError('search needs one <search-value>')
        self.load()
        b = self.builder
        self.say('Devices:    id  zone      ip address  port      name '
                 'weight partitions balance meta')
        for dev in self._matching(args[0]):
            self.say('         %5d %5d %15s %5d %9s %6.02f %10s %7.02f %s'
                     % (dev['id'], dev['zone'], dev['ip'], dev['port'],
                        dev['device'], dev['weight'], dev['parts'],
                        b.dev_balance(dev), dev['meta']))
        return EXIT_SUCCESS

    def set_weight(self, args):
        if not args or len(args) % 2:
            raise CommandError('set_weight needs pairs of <search-value> '
                               '<weight>')
        self.load()
        changes = []
        for value, weight in zip(args[::2], args[1::2]):
            try:
                weight = float(weight)
            except ValueError:
                raise CommandError('Invalid weight value: %s' % weight)
            if weight < 0:
                raise CommandError('weight must be >= 0')
            changes.extend((dev, weight) for dev in self._matching(value))
        for dev, weight in changes:
            self.builder.set_dev_weight(dev['id'], weight)
            self.say('%s weight set to %s' % (format_dev(dev), weight))
        self.save()
        return EXIT_SUCCESS

    def set_info(self, args):
        if len(args) != 2:
            raise CommandError('set_info needs <search-value> '
                               '<ip>:<port>/<device_name>_<meta>')
        self.load()
        devs = self._matching(args[0])
        if len(devs) != 1:
            raise CommandError('set_info must match exactly one device; '
                               '"%s" matched %d' % (args[0], len(devs)))
        info = parse_add_value('z0-' + args[1])
        dev = devs[0]
        for other in self.builder.devs:
            if other is not None and other['id'] != dev['id'] and \
                    (other['ip'], other['port'], other['device']) == \
                    (info['ip'], info['port'], info['device']):
                raise CommandError('%s already uses that address'
                                   % format_dev(other))
        self.builder.set_dev_info(dev['id'], ip=info['ip'],
                                  port=info['port'], device=info['device'],
                                  meta=info['meta'])
        self.say('Device %s is now %s' % (
            format_dev(dev), format_dev(self.builder.devs[dev['id']])))
        self.save()
        return EXIT_SUCCESS

    def remove(self, args):
        if not args:
            raise CommandError('remove needs <search-value>')
        self.load()
        devs = []
        for value in args:
            devs.extend(self._matching(value))
        for dev in devs:
            self.builder.remove_dev(dev['id'])
            self.say('%s marked for removal and will be removed next '
                     'rebalance.' % format_dev(dev))
        self.save()
        return EXIT_SUCCESS

    def rebalance(self, args):
        self.load()
        b = self.builder
        devs_changed = b.devs_changed
        old_balance = b.get_balance() if b._replica2part2dev else None
        try:
            moved, balance = b.rebalance()
        except exceptions.RingBuilderError as err:
            raise CommandError(str(err))
        if not moved and not devs_changed and old_balance is not None:
            self.say('No partitions could be reassigned.')
            self.say('Either none need to be or none can be due to '
                     'min_part_hours [%s].' % b.min_part_hours)
            return EXIT_WARNING
        b.validate()
        self.say('Reassigned %d (%.02f%%) partitions. Balance is now %.02f.'
                 % (moved, 100.0 * moved / b.parts, balance))
        self._write_backup()
        self.save()
        b.get_ring().save(ring_file_for(self.builder_file))
        if balance > 5:
            self.say('NOTE: Balance of %.02f indicates you should push this '
                     'ring, wait at least %d hours, and rebalance/repush.'
                     % (balance, b.min_part_hours))
            return EXIT_WARNING
        return EXIT_SUCCESS

    def _write_backup(self):
        """Keep the previous builder in backups/ next to it (undo path)."""
        if not os.path.exists(self.builder_file):
            return
        backup_dir = os.path.join(
            os.path.dirname(os.path.abspath(self.builder_file)), 'backups')
        os.makedirs(backup_dir, exist_ok=True)
        target = os.path.join(backup_dir, '%d.%s' % (
            int(time.time()), os.path.basename(self.builder_file)))
        with open(self.builder_file, 'rb') as src, open(target, 'wb') as dst:
            dst.write(src.read())

    def validate(self, args):
        self.load()
        try:
            self.builder.validate()
        except exceptions.RingBuilderError as err:
            raise CommandError(str(err))
        self.say('Ring builder is valid.')
        return EXIT_SUCCESS

    def write_ring(self, args):
        self.load()
        try:
            ring = self.builder.get_ring()
        except exceptions.RingBuilderError as err:
            raise CommandError(str(err))
        ring.save(ring_file_for(self.builder_file))
        return EXIT_SUCCESS

    def set_min_part_hours(self, args):
        if len(args) != 1:
            raise CommandError('set_min_part_hours needs <hours>')
        self.load()
        try:
            self.builder.set_min_part_hours(int(args[0]))
        except ValueError:
            raise CommandError('hours must be an integer')
        self.say('The minimum number of hours before a partition can be '
                 'reassigned is now set to %s' % args[0])
        self.save()
        return EXIT_SUCCESS

    def pretend_min_part_hours_passed(self, args):
        self.load()
        self.builder.pretend_min_part_hours_passed()
        self.save()
        return EXIT_SUCCESS


COMMANDS = ('create', 'add', 'search', 'set_weight', 'set_info', 'remove',
            'rebalance', 'validate', 'write_ring', 'set_min_part_hours',
            'pretend_min_part_hours_passed')


def main(argv=None, out=None):
    argv = list(sys.argv if argv is None else argv)
    out = out or sys.stdout
    if len(argv) < 2 or argv[1] in ('-h', '--help', 'help'):
        out.write(USAGE)
        return EXIT_ERROR if len(argv) < 2 else EXIT_SUCCESS
    builder_file = argv[1]
    command = argv[2] if len(argv) > 2 else None
    args = argv[3:]
    commands = Commands(builder_file, out)
    if command is not None and command not in COMMANDS:
        out.write('Unknown command: %s\n\n' % command)
        out.write(USAGE)
        return EXIT_ERROR
    try:
        if command is None:
            return commands.default(args)
        return getattr(commands, command)(args)
    except (CommandError, exceptions.RingBuilderError) as err:
        out.write('%s\n' % err)
        if isinstance(err, CommandError) and 'needs' in str(err):
            out.write('\n' + USAGE)
        return EXIT_ERROR


if __name__ == '__main__':
    sys.exit(main())
