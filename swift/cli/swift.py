"""The `swift` (alias `st`) command line client.

Speaks the v1.0 auth handshake and the Swift REST API directly over
http.client, so it runs anywhere Python does (it deliberately does not depend
on the server packages).  Commands and options follow the original `st` and
today's python-swiftclient so scripts written for either work:

    swift [-A URL -U ACCOUNT:USER -K KEY] [-q] [-v] COMMAND [options] [args]

    stat     [container [object]]
    list     [-p PREFIX] [-d DELIM] [container]
    upload   [-c] [-S BYTES] [--leave-segments] [--object-name NAME]
             container file_or_dir...
    download [--all | container [object...]] [-o FILE|-] [-D DIR] [-p PREFIX]
    delete   [--all | container [object...]] [--leave-segments]
    post     [-r READ_ACL] [-w WRITE_ACL] [-m KEY:VALUE]... [-H H:V]...
             [container [object]]

Exit status: 0 when everything asked for was done, 1 when any operation
failed (the reason is printed on stderr, one line per failure), 2 for a usage
error.

Differences from the original `st`, on purpose:
- a download is checked against the object's ETag (MD5) and length, and a
  mismatch is a failure, not a silent truncated file;
- object names that would write outside the output directory (`../x`,
  absolute names) are refused instead of followed;
- segment names use python-swiftclient's layout
  `<object>/<mtime>/<size>/<segment_size>/<%08d>` so both clients can manage
  each other's large objects.
"""

import argparse
import concurrent.futures
import hashlib
import http.client
import json
import os
import socket
import sys
import threading
import time
import urllib.parse

CHUNK = 65536
DEFAULT_RETRIES = 3
DIRECTORY_TYPE = 'application/directory'


class ClientError(Exception):
    """An HTTP request that did not succeed (or could not be made)."""

    def __init__(self, msg, status=None, reason=''):
        super().__init__(msg)
        self.msg = msg
        self.status = status
        self.reason = reason

    def __str__(self):
        if self.status is None:
            return self.msg
        return '%s: %s %s' % (self.msg, self.status, self.reason)


def backoff(attempt):
    return 0 if attempt <= 1 else min(0.25 * 2 ** attempt, 4)


def quote(value, safe='/'):
    return urllib.parse.quote(value.encode('utf-8'), safe=safe)


# ---------------------------------------------------------------------------
# HTTP: one connection per thread, v1.0 auth, bounded retries
# ---------------------------------------------------------------------------

class Connection:
    """A storage account reached through v1.0 auth (or a given URL+token).

    Safe to share between threads: each thread keeps its own HTTP connection
    and they share the token.
    """

    def __init__(self, auth_url=None, user=None, key=None, storage_url=None,
                 token=None, retries=DEFAULT_RETRIES, timeout=60.0):
        self.auth_url = auth_url
        self.user = user
        self.key = key
        self.storage_url = storage_url
        self.token = token
        self.retries = retries
        self.timeout = timeout
        self._local = threading.local()
        self._auth_lock = threading.Lock()

    # -- plumbing -----------------------------------------------------------

    @staticmethod
    def _connect(url, timeout):
        parsed = urllib.parse.urlparse(url)
        if parsed.scheme == 'https':
            conn = http.client.HTTPSConnection(parsed.netloc, timeout=timeout,
                                               blocksize=CHUNK)
        elif parsed.scheme == 'http':
            conn = http.client.HTTPConnection(parsed.netloc, timeout=timeout,
                                              blocksize=CHUNK)
        else:
            raise ClientError('unsupported URL %r' % url)
        return parsed, conn

    def authenticate(self):
        """GET the auth URL with X-Auth-User/Key; keeps url and token."""
        if not (self.auth_url and self.user and self.key):
            raise ClientError('auth needs -A/--auth, -U/--user and -K/--key '
                              '(or ST_AUTH, ST_USER, ST_KEY)')
        parsed, conn = self._connect(self.auth_url, self.timeout)
        try:
            conn.request('GET', parsed.path or '/',
                         headers={'X-Auth-User': self.user,
                                  'X-Auth-Key': self.key})
            resp = conn.getresponse()
            resp.read()
        except (OSError, http.client.HTTPException) as e:
            raise ClientError('auth request to %s failed: %s'
                              % (self.auth_url, e))
        finally:
            conn.close()
        if resp.status // 100 != 2:
            raise ClientError('Auth GET failed', resp.status, resp.reason)
        url = resp.getheader('X-Storage-Url')
        token = resp.getheader('X-Auth-Token') or resp.getheader(
            'X-Storage-Token')
        if not url or not token:
            raise ClientError('auth answered without X-Storage-Url and '
                              'X-Auth-Token')
        self.storage_url, self.token = url, token

    def ensure_auth(self):
        with self._auth_lock:
            if not (self.storage_url and self.token):
                self.authenticate()

    def _http(self):
        """This thread's connection to the storage URL."""
        conn = getattr(self._local, 'conn', None)
        if conn is None or getattr(self._local, 'url', None) != \
                self.storage_url:
            parsed, conn = self._connect(self.storage_url, self.timeout)
            self._local.conn, self._local.url = conn, self.storage_url
            self._local.base = parsed.path.rstrip('/')
        return conn

    def _drop_http(self):
        conn = getattr(self._local, 'conn', None)
        if conn is not None:
            conn.close()
        self._local.conn = None

    def request(self, method, container=None, obj=None, query=None,
                headers=None, body=None, ok=(2,), stream=False):
        """One request to the account, a container or an object.

        `body` is bytes, or a callable returning a fresh file-like object
        (called again on a retry).  Returns the http.client response, read
        unless `stream`.  Retries connection errors and 5xx answers a few
        times, and re-authenticates once on 401.
        """
        self.ensure_auth()
        attempts, reauthed = 0, False
        while True:
            attempts += 1
            path = self._path(container, obj, query)
            hdrs = dict(headers or {})
            hdrs['X-Auth-Token'] = self.token
            data = body() if callable(body) else body
            try:
                conn = self._http()
                conn.request(method, self._local.base + path, body=data,
                             headers=hdrs)
                resp = conn.getresponse()
                if not stream or resp.status // 100 not in ok:
                    resp.body = resp.read()
            except (OSError, http.client.HTTPException) as e:
                self._drop_http()
                if attempts > self.retries:
                    raise ClientError('%s %s failed: %s'
                                      % (method, path, e))
                # A reused keep-alive connection the server closed fails
                # once harmlessly: retry that at once, back off after.
                time.sleep(backoff(attempts))
                continue
            if resp.status == 401 and not reauthed and self.auth_url:
                reauthed = True
                with self._auth_lock:
                    self.authenticate()
                continue
            if resp.status // 100 == 5 and attempts <= self.retries:
                time.sleep(backoff(attempts + 1))
                continue
            if resp.status // 100 not in ok and resp.status not in ok:
                raise ClientError('%s %s failed' % (method, path),
                                  resp.status, resp.reason)
            return resp

    @staticmethod
    def _path(container, obj, query):
        path = ''
        if container is not None:
            path += '/' + quote(container, safe='')
        if obj is not None:
            path += '/' + quote(obj)
        if query:
            path += '?' + urllib.parse.urlencode(query)
        return path

    # -- listings -----------------------------------------------------------

    def iter_listing(self, container=None, prefix=None, delimiter=None):
        """Every entry of an account or container listing (JSON dicts),
        paged with `marker` until an empty page."""
        marker = ''
        for _page in range(1000000):  # bound: 10^10 names
            query = {'format': 'json'}
            if marker:
                query['marker'] = marker
            if prefix:
                query['prefix'] = prefix
            if delimiter:
                query['delimiter'] = delimiter
            resp = self.request('GET', container, query=query)
            if resp.status == 204 or not resp.body.strip():
                return
            page = json.loads(resp.body)
            if not page:
                return
            yield from page
            last = page[-1]
            new_marker = last.get('name', last.get('subdir'))
            if new_marker == marker:
                return  # a server ignoring marker must not loop us forever
            marker = new_marker

    def names(self, container=None, prefix=None):
        return [e.get('name', e.get('subdir'))
                for e in self.iter_listing(container, prefix=prefix)]


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

class Output:
    """stdout/stderr with -q, and a lock so threads do not interleave."""

    def __init__(self, quiet=False, verbose=False):
        self.quiet = quiet
        self.verbose = verbose
        self.lock = threading.Lock()
        self.failures = 0

    def info(self, text):
        if not self.quiet:
            with self.lock:
                print(text, flush=True)

    def out(self, text):
        with self.lock:
            print(text, flush=True)

    def error(self, text):
        with self.lock:
            self.failures += 1
            print(text, file=sys.stderr, flush=True)


def parse_meta(items, what):
    """['Key:Value', ...] -> {'X-<what>-Meta-Key': 'Value'}."""
    headers = {}
    for item in items or ():
        if ':' not in item:
            raise UsageError('metadata %r is not KEY:VALUE' % item)
        key, value = item.split(':', 1)
        if not key.strip():
            raise UsageError('metadata %r has an empty name' % item)
        headers['X-%s-Meta-%s' % (what, key.strip())] = value.strip()
    return headers


def parse_headers(items):
    headers = {}
    for item in items or ():
        if ':' not in item:
            raise UsageError('header %r is not NAME:VALUE' % item)
        key, value = item.split(':', 1)
        headers[key.strip()] = value.strip()
    return headers


class UsageError(Exception):
    pass


def run_parallel(func, items, threads):
    """func(item) for every item with at most `threads` at once; returns
    results in order.  Exceptions propagate to the caller's loop."""
    items = list(items)
    if threads <= 1 or len(items) <= 1:
        return [func(i) for i in items]
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        return list(pool.map(func, items))


def print_table(out, rows):
    width = max(len(k) for k, _v in rows)
    for key, value in rows:
        out.out('%s: %s' % (key.rjust(width), value))


def header_rows(resp, prefix, skip):
    """Rows for response headers that stat did not show already."""
    rows = []
    for name, value in resp.getheaders():
        low = name.lower()
        if low.startswith(prefix):
            rows.append(('Meta ' + name[len(prefix):], value))
    for name, value in resp.getheaders():
        low = name.lower()
        if low.startswith(prefix) or low in skip:
            continue
        rows.append((name, value))
    return rows


# ---------------------------------------------------------------------------
# commands
# ---------------------------------------------------------------------------

ACCOUNT_SHOWN = {'x-account-container-count', 'x-account-object-count',
                 'x-account-bytes-used', 'content-length', 'date',
                 'content-type', 'connection', 'x-trans-id', 'x-cf-trans-id',
                 'x-openstack-request-id', 'x-timestamp', 'accept-ranges'}
CONTAINER_SHOWN = {'x-container-object-count', 'x-container-bytes-used',
                   'x-container-read', 'x-container-write', 'content-length',
                   'date', 'content-type', 'connection', 'x-trans-id',
                   'x-cf-trans-id', 'x-openstack-request-id', 'x-timestamp',
                   'accept-ranges'}
OBJECT_SHOWN = {'content-type', 'content-length', 'last-modified', 'etag',
                'x-object-manifest', 'date', 'connection', 'x-trans-id',
                'x-cf-trans-id', 'x-openstack-request-id', 'x-timestamp',
                'accept-ranges'}


def cmd_stat(conn, args, out):
    if len(args.args) > 2:
        raise UsageError('stat takes at most a container and an object')
    account = conn.storage_url.rstrip('/').rsplit('/', 1)[-1]
    if not args.args:
        resp = conn.request('HEAD')
        rows = [('Account', account),
                ('Containers', resp.getheader('X-Account-Container-Count', 0)),
                ('Objects', resp.getheader('X-Account-Object-Count', 0)),
                ('Bytes', resp.getheader('X-Account-Bytes-Used', 0))]
        rows += header_rows(resp, 'x-account-meta-', ACCOUNT_SHOWN)
    elif len(args.args) == 1:
        container = args.args[0]
        resp = conn.request('HEAD', container)
        rows = [('Account', account), ('Container', container),
                ('Objects', resp.getheader('X-Container-Object-Count', 0)),
                ('Bytes', resp.getheader('X-Container-Bytes-Used', 0)),
                ('Read ACL', resp.getheader('X-Container-Read', '')),
                ('Write ACL', resp.getheader('X-Container-Write', ''))]
        rows += header_rows(resp, 'x-container-meta-', CONTAINER_SHOWN)
    else:
        container, obj = args.args
        resp = conn.request('HEAD', container, obj)
        rows = [('Account', account), ('Container', container),
                ('Object', obj),
                ('Content Type', resp.getheader('Content-Type', '')),
                ('Content Length', resp.getheader('Content-Length', '')),
                ('Last Modified', resp.getheader('Last-Modified', '')),
                ('ETag', resp.getheader('ETag', ''))]
        if resp.getheader('X-Object-Manifest'):
            rows.append(('Manifest', resp.getheader('X-Object-Manifest')))
        rows += header_rows(resp, 'x-object-meta-', OBJECT_SHOWN)
    print_table(out, rows)
    return 0


def cmd_list(conn, args, out):
    if len(args.args) > 1:
        raise UsageError('list takes at most one container')
    container = args.args[0] if args.args else None
    for entry in conn.iter_listing(container, prefix=args.prefix,
                                   delimiter=args.delimiter):
        name = entry.get('name', entry.get('subdir'))
        if args.long and 'name' in entry:
            if container is None:
                out.out('%12s %12s %s' % (entry.get('count', ''),
                                          entry.get('bytes', ''), name))
            else:
                out.out('%12s %26s %s' % (entry.get('bytes', ''),
                                          entry.get('last_modified', '')[:26],
                                          name))
        else:
            out.out(name)
    return 0


def cmd_post(conn, args, out):
    if len(args.args) > 2:
        raise UsageError('post takes at most a container and an object')
    extra = parse_headers(args.header)
    if not args.args:
        if args.read_acl or args.write_acl:
            raise UsageError('-r/-w need a container')
        headers = parse_meta(args.meta, 'Account')
        headers.update(extra)
        conn.request('POST', headers=headers)
    elif len(args.args) == 1:
        container = args.args[0]
        headers = parse_meta(args.meta, 'Container')
        if args.read_acl is not None:
            headers['X-Container-Read'] = args.read_acl
        if args.write_acl is not None:
            headers['X-Container-Write'] = args.write_acl
        headers.update(extra)
        try:
            conn.request('POST', container, headers=headers)
        except ClientError as e:
            if e.status != 404:
                raise
            # Like st: posting to a missing container creates it.
            conn.request('PUT', container, headers=headers)
    else:
        if args.read_acl or args.write_acl:
            raise UsageError('-r/-w apply to containers, not objects')
        container, obj = args.args
        headers = parse_meta(args.meta, 'Object')
        headers.update(extra)
        conn.request('POST', container, obj, headers=headers)
    return 0


# -- upload -------------------------------------------------------------------

class HashingReader:
    """Reads at most `length` bytes of a file from `offset`, hashing them."""

    def __init__(self, path, offset, length):
        self.f = open(path, 'rb')
        self.f.seek(offset)
        self.left = length
        self.md5 = hashlib.md5()

    def read(self, size=-1):
        if self.left <= 0:
            self.f.close()
            return b''
        if size is None or size < 0 or size > self.left:
            size = self.left
        data = self.f.read(size)
        if not data:
            raise ClientError('file shrank while it was being uploaded')
        self.left -= len(data)
        self.md5.update(data)
        return data


def object_name_for(path, base_name=None):
    # Leading '/', './' and '../' are dropped: names with '..' would make
    # downloads write outside their directory (st kept them).
    name = os.path.normpath(path).replace(os.sep, '/').lstrip('/')
    while name.startswith('../'):
        name = name[3:]
    if name in ('.', '..'):
        name = ''
    if base_name is not None:
        name = base_name
    return name


def collect_uploads(paths, object_name):
    """[(local path or None for a directory marker, object name)]"""
    jobs = []
    for path in paths:
        if os.path.isdir(path):
            base = object_name_for(path)
            prefix = object_name if object_name is not None else base
            prefix = prefix.strip('/') + '/' if prefix.strip('/') else ''
            for dirpath, dirnames, filenames in os.walk(path):
                dirnames.sort()
                rel = os.path.relpath(dirpath, path)
                sub = '' if rel == '.' else rel.replace(os.sep, '/') + '/'
                if not filenames and not dirnames and (prefix + sub):
                    jobs.append((None, (prefix + sub).rstrip('/')))
                for fn in sorted(filenames):
                    jobs.append((os.path.join(dirpath, fn),
                                 prefix + sub + fn))
        elif os.path.isfile(path):
            jobs.append((path, object_name_for(path, object_name)))
        else:
            raise UsageError('%s is not a file or directory' % path)
    return jobs


def put_file(conn, container, name, path, offset, length, headers):
    def body():
        return HashingReader(path, offset, length)

    readers = []

    def tracked():
        r = body()
        readers.append(r)
        return r

    hdrs = dict(headers)
    hdrs['Content-Length'] = str(length)
    resp = conn.request('PUT', container, name, headers=hdrs, body=tracked)
    etag = (resp.getheader('ETag') or '').strip('"')
    sent = readers[-1].md5.hexdigest()
    if etag and etag != sent:
        raise ClientError('%s/%s: server ETag %s does not match the %s we '
                          'sent' % (container, name, etag, sent))
    return resp


def existing_object(conn, container, name):
    try:
        return conn.request('HEAD', container, name)
    except ClientError as e:
        if e.status == 404:
            return None
        raise


def delete_segments(conn, manifest, out, threads):
    """Delete every segment a manifest header value names."""
    seg_container, _, prefix = manifest.partition('/')
    seg_container = urllib.parse.unquote(seg_container)
    prefix = urllib.parse.unquote(prefix)
    try:
        names = conn.names(seg_container, prefix=prefix)
    except ClientError as e:
        if e.status == 404:
            return
        raise

    def delete(name):
        try:
            conn.request('DELETE', seg_container, name, ok=(2, 404))
        except ClientError as e:
            out.error('Error deleting segment %s/%s: %s'
                      % (seg_container, name, e))

    run_parallel(delete, names, threads)


def ensure_container(conn, container, out):
    """PUT the container; a 403 is fine when a write ACL lets us put
    objects into a container we may not create."""
    try:
        conn.request('PUT', container, headers={'Content-Length': '0'},
                     body=b'')
    except ClientError as e:
        if e.status != 403:
            raise
        if out.verbose:
            out.info('cannot create container %s (403); uploading anyway'
                     % container)


def upload_one(conn, args, out, container, path, name):
    if path is None:
        conn.request('PUT', container, name,
                     headers={'Content-Type': DIRECTORY_TYPE,
                              'Content-Length': '0'}, body=b'')
        out.info(name)
        return
    st = os.stat(path)
    mtime = '%f' % st.st_mtime
    size = st.st_size
    old = None
    if args.changed or not args.leave_segments:
        old = existing_object(conn, container, name)
    if args.changed and old is not None:
        if (old.getheader('X-Object-Meta-Mtime') == mtime
                and old.getheader('Content-Length') == str(size)):
            out.info('%s unchanged, skipped' % name)
            return
    headers = {'X-Object-Meta-Mtime': mtime}
    headers.update(parse_headers(args.header))
    seg_size = args.segment_size
    if seg_size and size > seg_size:
        seg_container = container + '_segments'
        ensure_container(conn, seg_container, out)
        prefix = '%s/%s/%d/%d/' % (name, mtime, size, seg_size)
        count = (size + seg_size - 1) // seg_size

        def segment(i):
            off = i * seg_size
            put_file(conn, seg_container, '%s%08d' % (prefix, i), path, off,
                     min(seg_size, size - off), {})
            out.info('%s segment %d' % (name, i))

        run_parallel(segment, range(count), args.segment_threads)
        headers['X-Object-Manifest'] = '%s/%s' % (quote(seg_container, ''),
                                                  quote(prefix))
        headers['Content-Length'] = '0'
        conn.request('PUT', container, name, headers=headers, body=b'')
    else:
        put_file(conn, container, name, path, 0, size, headers)
    out.info(name)
    old_manifest = old.getheader('X-Object-Manifest') if old else None
    if old_manifest and old_manifest != headers.get('X-Object-Manifest') \
            and not args.leave_segments:
        delete_segments(conn, old_manifest, out, args.segment_threads)


def cmd_upload(conn, args, out):
    if len(args.args) < 2:
        raise UsageError('upload needs a container and at least one file')
    container, paths = args.args[0], args.args[1:]
    if args.object_name is not None and len(paths) > 1:
        raise UsageError('--object-name works with one file or directory')
    jobs = collect_uploads(paths, args.object_name)
    ensure_container(conn, container, out)

    def job(item):
        path, name = item
        try:
            upload_one(conn, args, out, container, path, name)
        except (ClientError, OSError) as e:
            out.error('Error uploading %s: %s' % (path or name, e))

    run_parallel(job, jobs, args.object_threads)
    return 0


# -- download -----------------------------------------------------------------

def safe_target(base, name):
    """Local path for an object name, refusing to leave `base`."""
    base = os.path.abspath(base)
    target = os.path.abspath(os.path.join(base, name.lstrip('/')))
    if target != base and not target.startswith(base + os.sep):
        raise ClientError('refusing to write %r outside %s' % (name, base))
    return target


def download_one(conn, args, out, container, name, target):
    resp = conn.request('GET', container, name, stream=True)
    try:
        etag = (resp.getheader('ETag') or '').strip('"')
        check_md5 = not resp.getheader('X-Object-Manifest') and len(etag) == 32
        length = resp.getheader('Content-Length')
        md5 = hashlib.md5()
        got = 0
        if target == '-':
            sink, close = sys.stdout.buffer, False
        else:
            if resp.getheader('Content-Type', '').split(';')[0] == \
                    DIRECTORY_TYPE and (length or '0') == '0':
                os.makedirs(target, exist_ok=True)
                out.info(name)
                return
            os.makedirs(os.path.dirname(target) or '.', exist_ok=True)
            sink, close = open(target + '.part', 'wb'), True
        try:
            while True:
                chunk = resp.read(CHUNK)
                if not chunk:
                    break
                md5.update(chunk)
                got += len(chunk)
                sink.write(chunk)
            sink.flush()
        finally:
            if close:
                sink.close()
    finally:
        resp.close()
        conn._drop_http()  # a partly read response poisons the connection
    problem = None
    if length is not None and int(length) != got:
        problem = 'read %d bytes, expected %s' % (got, length)
    elif check_md5 and md5.hexdigest() != etag:
        problem = 'md5 %s does not match ETag %s' % (md5.hexdigest(), etag)
    if target != '-':
        if problem:
            os.unlink(target + '.part')
        else:
            os.replace(target + '.part', target)
            mtime = resp.getheader('X-Object-Meta-Mtime')
            try:
                if mtime:
                    os.utime(target, (float(mtime), float(mtime)))
            except ValueError:
                pass
    if problem:
        raise ClientError('%s/%s: %s' % (container, name, problem))
    if target != '-':
        out.info(name if not args.all else '%s/%s' % (container, name))


def cmd_download(conn, args, out):
    if args.all:
        if args.args:
            raise UsageError('--all takes no container')
        containers = conn.names()
    elif not args.args:
        raise UsageError('download needs a container or --all')
    else:
        containers = [args.args[0]]
    objects = args.args[1:]
    if args.out_file and (args.all or len(objects) != 1):
        raise UsageError('-o/--output needs exactly one object')
    base = args.output_dir or '.'
    jobs = []
    for container in containers:
        names = objects or conn.names(container, prefix=args.prefix)
        for name in names:
            if args.out_file == '-':
                target = '-'
            elif args.out_file:
                target = args.out_file
            else:
                try:
                    target = safe_target(
                        os.path.join(base, container) if args.all else base,
                        name)
                except ClientError as e:
                    out.error('Error downloading %s/%s: %s'
                              % (container, name, e))
                    continue
            jobs.append((container, name, target))

    def job(item):
        container, name, target = item
        try:
            download_one(conn, args, out, container, name, target)
        except (ClientError, OSError) as e:
            out.error('Error downloading %s/%s: %s' % (container, name, e))

    threads = 1 if args.out_file == '-' else args.object_threads
    run_parallel(job, jobs, threads)
    return 0


# -- delete -------------------------------------------------------------------

def delete_object(conn, args, out, container, name):
    manifest = None
    if not args.leave_segments:
        try:
            head = conn.request('HEAD', container, name)
            manifest = head.getheader('X-Object-Manifest')
        except ClientError as e:
            if e.status != 404:
                raise
    conn.request('DELETE', container, name)
    if manifest:
        delete_segments(conn, manifest, out, args.object_threads)
    out.info(name if not args.all else '%s/%s' % (container, name))


def delete_container(conn, args, out, container):
    def job(name):
        try:
            delete_object(conn, args, out, container, name)
        except ClientError as e:
            if e.status != 404:
                out.error('Error deleting %s/%s: %s' % (container, name, e))

    # Listings can lag behind deletes (container updates are eventually
    # consistent), so list/delete/DELETE a bounded number of rounds.
    for attempt in range(10):
        try:
            names = conn.names(container)
        except ClientError as e:
            if e.status == 404:
                raise ClientError('Container %r not found' % container)
            raise
        run_parallel(job, names, args.object_threads)
        try:
            conn.request('DELETE', container)
            out.info(container)
            return
        except ClientError as e:
            if e.status == 404:
                return
            if e.status != 409 or attempt == 9:
                raise
            time.sleep(min(0.2 * 2 ** attempt, 3))


def cmd_delete(conn, args, out):
    if args.all:
        if args.args:
            raise UsageError('--all takes no container')
        containers = conn.names()
        # Containers holding segments go last so manifests can find them.
        containers.sort(key=lambda c: c.endswith('_segments'))
        for container in containers:
            try:
                delete_container(conn, args, out, container)
            except ClientError as e:
                out.error('Error deleting container %s: %s' % (container, e))
        return 0
    if not args.args:
        raise UsageError('delete needs a container or --all')
    container, objects = args.args[0], args.args[1:]
    if not objects:
        try:
            delete_container(conn, args, out, container)
        except ClientError as e:
            out.error('Error deleting container %s: %s' % (container, e))
        return 0

    def job(name):
        try:
            delete_object(conn, args, out, container, name)
        except ClientError as e:
            if e.status == 404:
                out.error('Object %s/%s not found' % (container, name))
            else:
                out.error('Error deleting %s/%s: %s' % (container, name, e))

    run_parallel(job, objects, args.object_threads)
    return 0


COMMANDS = {'stat': cmd_stat, 'list': cmd_list, 'upload': cmd_upload,
            'download': cmd_download, 'delete': cmd_delete, 'post': cmd_post}


# ---------------------------------------------------------------------------
# argument parsing
# ---------------------------------------------------------------------------

def _add_global_options(parser, defaults):
    """Global options, accepted before or after the command.

    The sub-parsers get them with SUPPRESS defaults so a value given before
    the command is not reset by the sub-parser.
    """
    def d(value):
        return value if defaults else argparse.SUPPRESS

    env = os.environ
    parser.add_argument('-A', '--auth', default=d(env.get('ST_AUTH')),
                        help='v1.0 auth URL (env ST_AUTH)')
    parser.add_argument('-U', '--user', default=d(env.get('ST_USER')),
                        help='ACCOUNT:USER (env ST_USER)')
    parser.add_argument('-K', '--key', default=d(env.get('ST_KEY')),
                        help='key/password (env ST_KEY)')
    parser.add_argument('-V', '--auth-version', default=d('1.0'),
                        help='auth version; only 1.0 is spoken')
    parser.add_argument('--os-storage-url', default=d(
        env.get('OS_STORAGE_URL')), help='use this storage URL (skip auth '
        'when a token is given too)')
    parser.add_argument('--os-auth-token', default=d(
        env.get('OS_AUTH_TOKEN')), help='use this token (skip auth)')
    parser.add_argument('-q', '--quiet', action='store_true',
                        default=d(False), help='print only results/errors')
    parser.add_argument('-v', '--verbose', action='store_true',
                        default=d(False), help='more output')
    parser.add_argument('--retries', type=int, default=d(DEFAULT_RETRIES),
                        help='retries per request (default %d)'
                        % DEFAULT_RETRIES)
    parser.add_argument('--object-threads', type=int, default=d(10),
                        help='parallel object operations (default 10)')
    parser.add_argument('--segment-threads', type=int, default=d(10),
                        help='parallel segment uploads (default 10)')


def build_parser():
    parser = argparse.ArgumentParser(
        prog='swift', description='Command line client for Swift object '
        'storage (v1.0 auth).',
        epilog='Exit status: 0 success, 1 an operation failed, 2 bad usage.')
    _add_global_options(parser, True)
    sub = parser.add_subparsers(dest='command', metavar='COMMAND')

    def add(name, help_text):
        p = sub.add_parser(name, help=help_text, description=help_text)
        _add_global_options(p, False)
        p.add_argument('-H', '--header', action='append', default=[],
                       help='extra header NAME:VALUE (repeatable)')
        return p

    p = add('stat', 'show account, container or object information')
    p.add_argument('args', nargs='*', metavar='container [object]')

    p = add('list', 'list the containers of the account or the objects '
            'of a container')
    p.add_argument('-p', '--prefix', help='only names starting with PREFIX')
    p.add_argument('-d', '--delimiter',
                   help='roll names up at this character')
    p.add_argument('-l', '--long', action='store_true',
                   help='show sizes (and dates)')
    p.add_argument('args', nargs='*', metavar='container')

    p = add('upload', 'upload files and directories (recursively)')
    p.add_argument('-c', '--changed', action='store_true',
                   help='only upload files whose size or mtime changed')
    p.add_argument('-S', '--segment-size', type=int, default=0,
                   help='split files larger than this (bytes) into segments '
                   'in <container>_segments plus a manifest')
    p.add_argument('--leave-segments', action='store_true',
                   help="do not delete an overwritten manifest's segments")
    p.add_argument('--object-name', help='object name for the one file '
                   '(or prefix for the one directory) given')
    p.add_argument('args', nargs='*', metavar='container file_or_dir')

    p = add('download', 'download objects')
    p.add_argument('-a', '--all', action='store_true',
                   help='every object of every container')
    p.add_argument('-o', '--output', dest='out_file',
                   help='write the one object to FILE (- for stdout)')
    p.add_argument('-D', '--output-dir', help='write under this directory')
    p.add_argument('-p', '--prefix', help='only objects starting with PREFIX')
    p.add_argument('args', nargs='*', metavar='container [object]')

    p = add('delete', 'delete objects and containers')
    p.add_argument('-a', '--all', action='store_true',
                   help='every container of the account')
    p.add_argument('--leave-segments', action='store_true',
                   help='do not delete the segments of manifests')
    p.add_argument('args', nargs='*', metavar='container [object]')

    p = add('post', 'set metadata and ACLs (creates a missing container)')
    p.add_argument('-r', '--read-acl', help='X-Container-Read')
    p.add_argument('-w', '--write-acl', help='X-Container-Write')
    p.add_argument('-m', '--meta', action='append', default=[],
                   help='metadata KEY:VALUE (repeatable; empty VALUE '
                   'removes the key)')
    p.add_argument('args', nargs='*', metavar='container [object]')
    return parser


def main(argv=None):
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else 2
    if not args.command:
        parser.print_help(sys.stderr)
        return 2
    if str(args.auth_version) not in ('1', '1.0'):
        print('swift: only auth version 1.0 is supported', file=sys.stderr)
        return 2
    out = Output(args.quiet, args.verbose)
    conn = Connection(args.auth, args.user, args.key,
                      storage_url=args.os_storage_url,
                      token=args.os_auth_token, retries=args.retries)
    if not (conn.storage_url and conn.token):
        conn.storage_url = conn.token = None
    try:
        conn.ensure_auth()
        COMMANDS[args.command](conn, args, out)
    except UsageError as e:
        print('swift %s: %s' % (args.command, e), file=sys.stderr)
        return 2
    except ClientError as e:
        out.error(str(e))
    except BrokenPipeError:
        # `swift list | head`: the reader left; not our failure.
        try:
            sys.stdout = open(os.devnull, 'w')
        except OSError:
            pass
        return 0
    except KeyboardInterrupt:
        print('swift: interrupted', file=sys.stderr)
        return 130
    except socket.timeout as e:
        out.error('timed out: %s' % e)
    return 1 if out.failures else 0
