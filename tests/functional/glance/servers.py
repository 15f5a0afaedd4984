"""Starting glance-registry and glance-api as real processes for tests."""

import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import shutil
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..',
                                    '..'))
PYTHON = os.path.join(ROOT, '.venv', 'bin', 'python')
if not os.path.exists(PYTHON):
    PYTHON = sys.executable


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for_port(port, proc, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError('server exited with %s' % proc.returncode)
        try:
            socket.create_connection(('127.0.0.1', port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError('server did not listen on %d within %ss'
                       % (port, timeout))


class GlanceServers:
    """A registry and an API on free loopback ports, in one temp dir."""

    def __init__(self, api_options=None, registry_options=None):
        self.tmp = tempfile.mkdtemp(prefix='glance-test-')
        self.datadir = os.path.join(self.tmp, 'images')
        self.registry_port = free_port()
        self.api_port = free_port()
        self.api_options = {
            'bind_host': '127.0.0.1', 'bind_port': self.api_port,
            'registry_host': '127.0.0.1',
            'registry_port': self.registry_port,
            'default_store': 'file',
            'filesystem_store_datadir': self.datadir,
        }
        self.api_options.update(api_options or {})
        self.registry_options = {
            'bind_host': '127.0.0.1', 'bind_port': self.registry_port,
            'sql_connection': 'sqlite:///%s/registry.sqlite' % self.tmp,
        }
        self.registry_options.update(registry_options or {})
        self.procs = {}

    @property
    def url(self):
        return 'http://127.0.0.1:%d' % self.api_port

    def _write_conf(self, name, options, sections):
        path = os.path.join(self.tmp, '%s.conf' % name)
        lines = ['[DEFAULT]']
        lines += ['%s = %s' % (k, v) for k, v in options.items()]
        lines.append('')
        lines.append(sections)
        with open(path, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        return path

    def _start(self, name, conf, port):
        log = open(os.path.join(self.tmp, '%s.log' % name), 'wb')
        proc = subprocess.Popen(
            [PYTHON, os.path.join(ROOT, 'bin', name), conf],
            stdout=log, stderr=subprocess.STDOUT, cwd=self.tmp)
        log.close()
        self.procs[name] = proc
        try:
            wait_for_port(port, proc)
        except RuntimeError:
            raise RuntimeError('%s failed to start:\n%s'
                               % (name, self.log(name)))

    def log(self, name):
        with open(os.path.join(self.tmp, '%s.log' % name), errors='replace') \
                as f:
            return f.read()

    def start(self):
        try:
            reg = self._write_conf(
                'glance-registry', self.registry_options,
                '[app:glance-registry]\n'
                'paste.app_factory = glance.registry.server:app_factory\n')
            self._start('glance-registry', reg, self.registry_port)
            api = self._write_conf(
                'glance-api', self.api_options,
                '[pipeline:glance-api]\npipeline = authcontext apiv1app\n\n'
                '[filter:authcontext]\n'
                'paste.filter_factory = glance.api.auth:filter_factory\n\n'
                '[app:apiv1app]\n'
                'paste.app_factory = glance.api.server:app_factory\n')
            self._start('glance-api', api, self.api_port)
        except Exception:
            self.stop()
            raise
        return self

    def pid(self, name):
        return self.procs[name].pid

    def stop(self):
        for name, proc in list(self.procs.items()):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
        self.procs.clear()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def clear(self):
        """Delete every image (as the open service's admin)."""
        import json
        for _round in range(50):
            status, _h, body = self.request('GET', '/v1/images?limit=1000')
            images = json.loads(body)['images']
            if not images:
                return
            for image in images:
                self.request('DELETE', '/v1/images/%s' % image['id'])
        raise RuntimeError('images keep appearing')

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection('127.0.0.1', self.api_port,
                                          timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, resp.getheaders(), data
        finally:
            conn.close()
