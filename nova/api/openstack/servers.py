"""/servers: list, create, show, update, delete, addresses and actions.

Fixes of the original's quirks: ``flavorId`` is the flavor's id (not the
type name); addresses are the instance's real fixed IPs (``private``, or
per network in v1.1) and the floating IPs forwarded to them (``public``);
``adminPass`` is returned on create and a requested password is the one
set (the original set a random one); personality files and metadata are
honoured; a user without key pairs can boot (the original demanded one;
the user's first key pair is still injected when there is one).
"""

import base64
import binascii
import hashlib

from nova import context as nova_context
from nova import exception
from nova import flags
from nova import log as logging
from nova import utils
from nova.api.openstack import common
from nova.api.openstack import faults
from nova.api.openstack import resource
from nova.compute import api as compute_api_module
from nova.compute import instance_types
from nova.db import api as db

LOG = logging.getLogger(__name__)
FLAGS = flags.FLAGS

_SIMPLE_ACTIONS = ('pause', 'unpause', 'suspend', 'resume', 'rescue',
                   'unrescue', 'lock', 'unlock')


def _compute_api():
    return compute_api_module.API()


def instance_id(value):
    """An integer server id from the URL; 404 when it cannot be one."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise faults.not_found('Server %s could not be found.' % value) \
            from None
    if number < 0:
        raise faults.not_found('Server %s could not be found.' % value)
    return number


def _image_id_out(image_id):
    text = str(image_id or '')
    return int(text) if text.isdigit() else text


def _text_field(entity, key, what, required=False):
    value = entity.get(key)
    if value is None:
        if required:
            raise faults.bad_request('%s is required' % what)
        return None
    if not isinstance(value, str) or not value.strip():
        raise faults.bad_request('%s must be non-empty text' % what)
    if len(value) > 255:
        raise faults.bad_request('%s is longer than 255 characters' % what)
    return value


def _metadata_field(entity):
    metadata = entity.get('metadata')
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        raise faults.bad_request('metadata must be an object of key/value '
                                 'pairs')
    for key, value in metadata.items():
        if not isinstance(key, str) or not key or \
                not isinstance(value, (str, int, float)) or \
                isinstance(value, bool):
            raise faults.bad_request('metadata keys and values must be text')
    return {k: str(v) for k, v in metadata.items()}


def personality_files(entity):
    """[(path, contents)] from ``personality``; 400 when malformed."""
    personality = entity.get('personality')
    if personality is None:
        return None
    if not isinstance(personality, list):
        raise faults.bad_request('personality must be a list of files')
    files = []
    for item in personality:
        if not isinstance(item, dict) or 'path' not in item or \
                'contents' not in item:
            raise faults.bad_request('each personality file needs a path '
                                     'and contents')
        path, contents = item['path'], item['contents']
        if not isinstance(path, str) or not isinstance(contents, str):
            raise faults.bad_request('personality path and contents must '
                                     'be text')
        try:
            raw = base64.b64decode(contents.encode('ascii'), validate=True)
            text = raw.decode('utf-8')
        except (binascii.Error, ValueError, UnicodeError):
            raise faults.bad_request('personality contents of %s must be '
                                     'base64 of UTF-8 text' % path) from None
        files.append((path, text))
    return files


class ServersController(resource.Controller):

    def __init__(self, version='1.1', compute_api=None):
        super().__init__(version)
        self._compute_api = compute_api

    @property
    def compute_api(self):
        if self._compute_api is None:
            self._compute_api = _compute_api()
        return self._compute_api

    # -- views -----------------------------------------------------------------

    def _flavor_ids(self):
        types = instance_types.get_all_types(inactive=True)
        return {name: row['flavorid'] for name, row in types.items()}

    def _addresses(self, context, instance):
        try:
            found = self.compute_api.get_network_addresses(context,
                                                           instance['id'])
        except exception.NotFound:
            found = []
        if self.version == '1.0':
            return {'public': [ip for a in found for ip in a['floating_ips']],
                    'private': [a['address'] for a in found]}
        addresses = {}
        for a in found:
            addresses.setdefault(a['network'], []).append(
                {'version': a['version'], 'addr': a['address']})
        public = [{'version': 6 if ':' in ip else 4, 'addr': ip}
                  for a in found for ip in a['floating_ips']]
        if public:
            addresses.setdefault('public', []).extend(public)
        return addresses

    def _ref(self, req, collection, item_id):
        return '%s/%s/%s' % (req.application_url.rstrip('/'), collection,
                             item_id)

    def _brief(self, req, instance):
        view = {'id': instance['id'], 'name': instance['display_name']}
        links = common.links(req, 'servers', instance['id'], self.version)
        if links:
            view['links'] = links
        return view

    def _detail(self, req, instance, flavor_ids=None, context=None):
        context = context or resource.context_of(req)
        if flavor_ids is None:
            flavor_ids = self._flavor_ids()
        status, progress = common.server_status(instance, self.version)
        host_id = ''
        if instance.get('host'):
            host_id = hashlib.sha224(('%s%s' % (instance['project_id'],
                                                instance['host'])).encode()
                                     ).hexdigest()
        flavor_id = flavor_ids.get(instance.get('instance_type'))
        image_id = _image_id_out(instance.get('image_id'))
        view = {'id': instance['id'],
                'name': instance['display_name'],
                'status': status,
                'progress': progress,
                'hostId': host_id,
                'created': common.isotime(instance.get('created_at')),
                'updated': common.isotime(instance.get('updated_at')
                                          or instance.get('created_at'))}
        if self.version == '1.0':
            view['imageId'] = image_id
            view['flavorId'] = flavor_id
        else:
            view['imageRef'] = self._ref(req, 'images', image_id)
            view['flavorRef'] = self._ref(req, 'flavors', flavor_id)
        view['metadata'] = dict(instance.get('metadata') or {})
        if instance.get('deleted'):
            view['addresses'] = {} if self.version != '1.0' else \
                {'public': [], 'private': []}
        else:
            view['addresses'] = self._addresses(context, instance)
        fault = instance.get('fault')
        if status == 'ERROR' and fault:
            view['fault'] = {'message': fault.get('message') or '',
                             'created': common.isotime(
                                 fault.get('created_at'))}
        links = common.links(req, 'servers', instance['id'], self.version)
        if links:
            view['links'] = links
        return view

    # -- listing ---------------------------------------------------------------

    def _instances(self, req):
        context = resource.context_of(req)
        since = common.changes_since(req)
        if since is not None:
            context = nova_context.RequestContext.from_dict(
                dict(context.to_dict(), read_deleted=True))
            context.is_admin = resource.context_of(req).is_admin
        instances = self.compute_api.get_all(context,
                                             project_id=context.project_id)
        if since is not None:
            instances = [i for i in instances
                         if max(t for t in (i.get('updated_at'),
                                            i.get('deleted_at'),
                                            i.get('created_at'))
                                if t is not None) >= since]
        return common.paginate(instances, req, self.version), context

    def index(self, req):
        instances, _context = self._instances(req)
        return {'servers': [self._brief(req, i) for i in instances]}

    def detail(self, req):
        instances, context = self._instances(req)
        flavor_ids = self._flavor_ids()
        return {'servers': [self._detail(req, i, flavor_ids, context)
                            for i in instances]}

    def show(self, req, id):
        context = resource.context_of(req)
        instance = self.compute_api.get(context, instance_id(id))
        return {'server': self._detail(req, instance)}

    # -- create, update, delete --------------------------------------------------

    def _flavor(self, entity):
        key = 'flavorId' if self.version == '1.0' else 'flavorRef'
        ref = entity.get(key, entity.get('flavorId'))
        if ref is None:
            raise faults.bad_request('%s is required' % key)
        flavor_id = common.id_from_ref(ref, key)
        try:
            return instance_types.get_instance_type_by_flavor_id(flavor_id)
        except exception.InstanceTypeNotFound:
            raise faults.bad_request('flavor %s does not exist'
                                     % flavor_id) from None

    def _image(self, entity):
        key = 'imageId' if self.version == '1.0' else 'imageRef'
        ref = entity.get(key, entity.get('imageId'))
        if ref is None:
            raise faults.bad_request('%s is required' % key)
        return common.id_from_ref(ref, key)

    def create(self, req, body):
        context = resource.context_of(req)
        entity = resource.require_key(body, 'server')
        name = _text_field(entity, 'name', 'server name', required=True)
        image_id = self._image(entity)
        itype = self._flavor(entity)
        metadata = _metadata_field(entity)
        files = personality_files(entity)
        password = _text_field(entity, 'adminPass', 'adminPass') or \
            utils.generate_password(FLAGS.password_length)
        key_name = key_data = None
        key_pairs = db.key_pair_get_all_by_user(context, context.user_id)
        if key_pairs:
            key_name = key_pairs[0]['name']
            key_data = key_pairs[0]['public_key']
        try:
            instances = self.compute_api.create(
                context, itype, str(image_id), display_name=name,
                metadata=metadata, injected_files=files,
                admin_password=password, key_name=key_name,
                key_data=key_data)
        except exception.ImageNotFound:
            raise faults.bad_request('image %s does not exist'
                                     % image_id) from None
        view = self._detail(req, instances[0])
        view['adminPass'] = password
        return resource.Result({'server': view}, status=202)

    def update(self, req, id, body):
        context = resource.context_of(req)
        server_id = instance_id(id)
        entity = resource.require_key(body, 'server')
        name = _text_field(entity, 'name', 'server name')
        password = _text_field(entity, 'adminPass', 'adminPass')
        if name is None and password is None:
            raise faults.bad_request('give a name or an adminPass to change')
        instance = self.compute_api.get(context, server_id)
        if password is not None:
            self.compute_api.set_admin_password(context, server_id, password)
        if name is not None:
            instance = self.compute_api.update(context, server_id,
                                               display_name=name)
        if self.version == '1.0':
            return resource.Result(None, status=204)
        return {'server': self._detail(req, instance)}

    def delete(self, req, id):
        context = resource.context_of(req)
        self.compute_api.delete(context, instance_id(id))
        return resource.Result(None,
                               status=202 if self.version == '1.0' else 204)

    # -- addresses ---------------------------------------------------------------

    def ips(self, req, id):
        context = resource.context_of(req)
        instance = self.compute_api.get(context, instance_id(id))
        return {'addresses': self._addresses(context, instance)}

    def ips_network(self, req, id, network):
        addresses = self.ips(req, id)['addresses']
        if network not in addresses:
            raise faults.not_found('Server %s has no network %s.'
                                   % (id, network))
        return {network: addresses[network]}

    # -- actions -----------------------------------------------------------------

    def action(self, req, id, body):
        context = resource.context_of(req)
        server_id = instance_id(id)
        if not isinstance(body, dict) or len(body) != 1:
            raise faults.bad_request('an action body names exactly one '
                                     'action')
        (name, args), = body.items()
        if args is None:
            args = {}
        if not isinstance(args, dict):
            raise faults.bad_request('the %s action takes an object' % name)
        handler = getattr(self, '_action_%s' % name, None)
        if handler is None and name in _SIMPLE_ACTIONS:
            getattr(self.compute_api, name)(context, server_id)
            return resource.Result(None, status=202)
        if handler is None:
            raise faults.bad_request('unknown server action %r' % name)
        # Every action first proves the server exists and is visible.
        self.compute_api.get(context, server_id)
        result = handler(req, context, server_id, args)
        if result is None:
            return resource.Result(None, status=202)
        return result

    def _action_reboot(self, req, context, server_id, args):
        kind = args.get('type')
        if not isinstance(kind, str) or kind.upper() not in ('SOFT', 'HARD'):
            raise faults.bad_request('reboot type must be SOFT or HARD')
        if kind.upper() == 'HARD':
            self.compute_api.reboot_hard(context, server_id)
        else:
            self.compute_api.reboot(context, server_id)

    def _action_rebuild(self, req, context, server_id, args):
        image_id = self._image(args)
        try:
            self.compute_api.rebuild(
                context, server_id, str(image_id),
                name=_text_field(args, 'name', 'server name'),
                metadata=_metadata_field(args),
                injected_files=personality_files(args),
                admin_password=_text_field(args, 'adminPass', 'adminPass'))
        except exception.ImageNotFound:
            raise faults.bad_request('image %s does not exist'
                                     % image_id) from None

    def _action_resize(self, req, context, server_id, args):
        itype = self._flavor(args)
        self.compute_api.resize(context, server_id, itype['flavorid'])

    def _action_confirmResize(self, req, context, server_id, args):
        self.compute_api.confirm_resize(context, server_id)
        return resource.Result(None, status=204)

    def _action_revertResize(self, req, context, server_id, args):
        self.compute_api.revert_resize(context, server_id)

    def _action_changePassword(self, req, context, server_id, args):
        password = _text_field(args, 'adminPass', 'adminPass', required=True)
        self.compute_api.set_admin_password(context, server_id, password)

    def _action_createImage(self, req, context, server_id, args):
        if self.version == '1.0':
            raise faults.bad_request('createImage is a v1.1 action; use '
                                     'POST /images in v1.0')
        name = _text_field(args, 'name', 'image name', required=True)
        image = self.compute_api.snapshot(context, server_id, name)
        location = '%s/images/%s' % (req.application_url.rstrip('/'),
                                     image['id'])
        return resource.Result(None, status=202,
                               headers={'Location': location})

    def _action_diagnostics(self, req, context, server_id, args):
        return self.diagnostics(req, server_id)

    def diagnostics(self, req, id):
        context = resource.context_of(req)
        try:
            result = self.compute_api.get_diagnostics(context,
                                                      instance_id(id))
        except NotImplementedError:
            raise faults.not_implemented('this hypervisor reports no '
                                         'diagnostics') from None
        return {'diagnostics': result}

    def legacy_action(self, req, id, name):
        """POST /servers/{id}/pause and friends, as the original routed."""
        return self.action_by_name(req, id, name)

    def action_by_name(self, req, id, name):
        if name not in _SIMPLE_ACTIONS:
            raise faults.not_found()
        context = resource.context_of(req)
        getattr(self.compute_api, name)(context, instance_id(id))
        return resource.Result(None, status=202)
