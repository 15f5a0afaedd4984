"""Installs nova, swift and glance and every launcher under bin/."""

import glob

from setuptools import find_packages, setup

setup(
    name='cloud',
    version='2011.1',
    description='A reimplementation of the first OpenStack releases: '
                'nova, swift and glance',
    long_description=open('README.rst', encoding='utf-8').read(),
    python_requires='>=3.11',
    packages=find_packages(include=['nova', 'nova.*', 'swift', 'swift.*',
                                    'glance', 'glance.*']),
    include_package_data=True,
    package_data={'nova': ['db/migrations/*.ini', 'db/migrations/*.mako',
                           'db/migrations/versions/*.py'],
                  'glance': ['registry/db/migrations/*.py',
                             'registry/db/migrations/*.mako',
                             'registry/db/migrations/versions/*.py']},
    scripts=sorted(p for p in glob.glob('bin/*') if not p.endswith('~')),
    install_requires=[line.strip() for line in open('requirements.txt')
                      if line.strip() and not line.startswith('#')],
)
