#!/bin/sh
# The real tables of `python -m benchmarks.tables` that are not bundled with scikit-learn: the
# data sets shipped with Debian's R packages (AER, carData, dslabs; MASS comes with R). The
# benchmark reads them with Rscript (installed with them) or, for .rda files, the rdata package,
# and names any table it cannot find. Run as root (or with sudo) on Debian or Ubuntu.
set -eu
apt-get update
packages=""
for p in r-cran-aer r-cran-cardata r-cran-dslabs r-cran-mass; do
    if apt-cache show "$p" >/dev/null 2>&1; then
        packages="$packages $p"
    else
        echo "install-bench-data: $p is not in this distribution's archive; its tables will be skipped" >&2
    fi
done
# shellcheck disable=SC2086  # one word per package
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $packages
