"""Nova's image services: where instances' images come from.

``get_default_image_service()`` returns an instance of the class named by
the ``image_service`` flag (glance by default, or the local directory
service for tests).  Every service has the interface of
``nova.image.service.BaseImageService``.
"""

from nova import flags
from nova import utils

FLAGS = flags.FLAGS

flags.DEFINE_string('image_service', 'nova.image.glance.GlanceImageService',
                    'class that keeps images: '
                    'nova.image.glance.GlanceImageService or '
                    'nova.image.local.LocalImageService')
flags.DEFINE_string('glance_host', '$my_ip', 'host of glance-api')
flags.DEFINE_integer('glance_port', 9292, 'port of glance-api')


def get_default_image_service():
    return utils.import_class(FLAGS.image_service)()
