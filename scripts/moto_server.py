"""moto's server, with its DynamoDB requests handled one at a time.

moto serves requests on threads, and its DynamoDB backend checks a
condition and then writes without a lock, so two conditional writes racing
for one item can both succeed: something real DynamoDB, which applies each
item's conditional writes one at a time, never does. GAS relies on exactly
that (one runner claims a job, one process records an archive), and its
tests race such writes on purpose, so they need an emulator that keeps the
guarantee. Every other service is served as moto serves it.

Run with moto's own arguments: python moto_server.py -H 127.0.0.1 -p PORT
"""

import threading

import moto.server
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

_dispatch = DomainDispatcherApplication.__call__
_dynamodb = threading.Lock()


def _dispatch_dynamodb_serially(self, environ, start_response):
    if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
        with _dynamodb:
            # The whole answer is made inside the lock.
            return list(_dispatch(self, environ, start_response))
    return _dispatch(self, environ, start_response)


DomainDispatcherApplication.__call__ = _dispatch_dynamodb_serially

if __name__ == "__main__":
    moto.server.main()
