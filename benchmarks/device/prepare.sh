#!/usr/bin/env bash
# Here (the CPU machine, online to PyPI), once before a device call: put what papers.sh needs and
# the device image lacks into .gpu-carry/ (ignored by git through .git/info/exclude), for the
# device tool's `carry`:
#   .gpu-carry/wheels/    python-louvain, igraph, leidenalg, texttable for CPython 3.12 x86-64
#                         (the image has torch, torch-geometric, scikit-learn, networkx, typer,
#                         rich, pyyaml, scipy, pandas, matplotlib; ../.library/device/KINDS.md)
#   .gpu-carry/datasets/  the staged Amazon-Photo, Amazon-Computers and Coauthor-CS folders from
#                         $GCL_DATASETS_PATH (default ../shared/datasets), about 8 MB; the device
#                         machine cannot download and does not see ../shared.
set -euo pipefail
cd "$(dirname "$0")/../.."
CARRY=.gpu-carry
SOURCE=${GCL_DATASETS_PATH:-../shared/datasets}
grep -qx "/$CARRY/" .git/info/exclude 2>/dev/null || echo "/$CARRY/" >> .git/info/exclude
rm -rf "$CARRY" && mkdir -p "$CARRY/wheels" "$CARRY/datasets"
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d "$CARRY/wheels" igraph==1.0.0 leidenalg==0.12.0 texttable==1.7.2
python3 -m pip wheel -q --no-deps python-louvain==0.16 -w "$CARRY/wheels"   # sdist only on PyPI
for name in Amazon-Photo Amazon-Computers Coauthor-CS; do
    cp -r "$SOURCE/$name" "$CARRY/datasets/$name"
done
du -sh "$CARRY"
