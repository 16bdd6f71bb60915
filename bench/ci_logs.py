"""`corral condense` on real CI logs of public projects' failing builds, scored per ecosystem.

    .venv/bin/python bench/ci_logs.py [--logs /work/scratch/condense/logs] [--verbose]

The logs themselves are not in this repository: each case says where it came from (a
repository, commit and path, or the public page it was posted on), and the bench reads it
from `--logs/<name>.log`. Each case lists the failing file:line locations a person labelled
in the log (for the labri-progress/cidiff breakages, the locations on the dataset's own
groundtruth lines; for the others, by reading the log), and, for a failure with no place in
the code, why it failed (an infrastructure failure). For each ecosystem it prints the share
of labelled locations the agent's message keeps, and the message's size against the raw
log's (median, and the largest among logs of 1,000 lines or more, which must stay <= 5%).
A location counts as kept when the message names the same line of a path that ends with the
labelled one (or that the labelled one ends with: a log may name only `FooTest.java`).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

from corral.ci import condense
from corral.ci.infra import classify_infrastructure

DEFAULT_LOGS = Path("/work/scratch/condense/logs")
_LOCATION = re.compile(r"(?P<path>[\w./@+-]+\.[A-Za-z]{1,6}):(?P<lines>\d+(?:,\d+)*)")


@dataclass(frozen=True)
class Case:
    ecosystem: str
    name: str
    source: str
    expected: tuple[str, ...]
    """`path:line` (or a bare `path` for a finding without a line), as labelled."""
    infrastructure: str | None = None
    """Why the run failed when the code is not the cause; then `expected` is empty."""


CIDIFF = "github:labri-progress/cidiff@3cad9e8e4278e0eea38551b4f71cc1cf08bd9d14"
LOG_FAILED = "gh run view --log-failed as posted in the repository"
RUST = "rust-lang/rust CI log (Azure Pipelines) as the bot posted it on PR "
ATLAS = "mongodb/terraform-provider-mongodbatlas, Actions log of acceptance test "
MOTION5 = "github:chahyasantoso/motion5@91da45fa4e14095dabc5d31678375bfc9042c9a5 (branch ci-logs)"


def cidiff(breakage: str) -> str:
    """A Jenkins or GitHub Actions log of the cidiff breakage dataset (with its groundtruth)."""
    return f"{CIDIFF}:data/breakages/{breakage}/fail.log"


def motion5(run: str) -> str:
    """A GitHub Actions run's failed-job log, archived by the project itself."""
    return f"{MOTION5}:logs/{run}/README.md, the fenced log"


CASES: tuple[Case, ...] = (
    Case(
        "java",
        "cidiff-assertj_1944",
        "github:labri-progress/cidiff@3cad9e8e4278e0eea38551b4f71cc1cf08bd9d14:data/breakages/assertj_1944/fail.log",
        (
            "src/main/java/org/assertj/core/api/AbstractMapAssert.java:544",
            "src/main/java/org/assertj/core/api/AbstractMapAssert.java:545",
            "src/main/java/org/assertj/core/api/Assumptions.java:1236",
            "src/main/java/org/assertj/core/api/Assumptions.java:1237",
            "src/main/java/org/assertj/core/api/Assumptions.java:1242",
            "src/main/java/org/assertj/core/api/Assumptions.java:1243",
            "src/main/java/org/assertj/core/api/ClassBasedNavigableIterableAssert.java:53",
            "src/main/java/org/assertj/core/api/ClassBasedNavigableIterableAssert.java:55",
            "src/main/java/org/assertj/core/api/ClassBasedNavigableIterableAssert.java:56",
            "src/main/java/org/assertj/core/api/ClassBasedNavigableListAssert.java:47",
            "src/main/java/org/assertj/core/api/ClassBasedNavigableListAssert.java:49",
            "src/main/java/org/assertj/core/api/ClassBasedNavigableListAssert.java:50",
            "src/main/java/org/assertj/core/error/AssertionErrorCreator.java:100",
            "src/main/java/org/assertj/core/error/AssertionErrorCreator.java:27",
            "src/main/java/org/assertj/core/error/AssertionErrorCreator.java:29",
            "src/main/java/org/assertj/core/error/AssertionErrorCreator.java:49",
            "src/main/java/org/assertj/core/error/ShouldBeEqual.java:206",
            "src/main/java/org/assertj/core/error/ShouldBeEqual.java:229",
            "src/main/java/org/assertj/core/error/ShouldBeEqual.java:44",
            "src/main/java/org/assertj/core/error/ShouldBeEqual.java:46",
            "src/main/java/org/assertj/core/internal/Arrays.java:684",
            "src/main/java/org/assertj/core/internal/Arrays.java:686",
            "src/main/java/org/assertj/core/internal/Arrays.java:689",
            "src/main/java/org/assertj/core/internal/Arrays.java:691",
            "src/main/java/org/assertj/core/internal/Arrays.java:744",
            "src/main/java/org/assertj/core/internal/Arrays.java:746",
            "src/main/java/org/assertj/core/internal/Arrays.java:748",
            "src/main/java/org/assertj/core/util/introspection/ClassUtils.java:82",
            "src/main/java/org/assertj/core/util/introspection/ClassUtils.java:83",
        ),
        None,
    ),
    Case(
        "java",
        "cidiff-astor_1260",
        "github:labri-progress/cidiff@3cad9e8e4278e0eea38551b4f71cc1cf08bd9d14:data/breakages/astor_1260/fail.log",
        (
            "src/main/java/fr/inria/astor/core/faultlocalization/flacoco/FlacocoFaultLocalization.java:71",
            "src/main/java/fr/inria/astor/core/faultlocalization/gzoltar/NovelGZoltarFaultLocalization.java:264",
            "src/main/java/fr/inria/astor/core/faultlocalization/gzoltar/NovelGZoltarFaultLocalization.java:276",
        ),
        None,
    ),
    Case(
        "java",
        "cidiff-astor_400",
        "github:labri-progress/cidiff@3cad9e8e4278e0eea38551b4f71cc1cf08bd9d14:data/breakages/astor_400/fail.log",
        (
            "src/main/java/fr/inria/astor/approaches/scaffold/scaffoldgeneration/libinfo/LibParser.java:23",
            "src/main/java/fr/inria/astor/approaches/scaffold/scaffoldgeneration/libinfo/LibParser.java:24",
            "src/main/java/fr/inria/astor/approaches/scaffold/scaffoldgeneration/libinfo/LibParser.java:53",
        ),
        None,
    ),
    Case(
        "java",
        "cidiff-casper_1774",
        "github:labri-progress/cidiff@3cad9e8e4278e0eea38551b4f71cc1cf08bd9d14:data/breakages/casper_1774/fail.log",
        ("src/main/java/sacha/utils/SachaDocumentationGenerator.java:3",),
        None,
    ),
    Case(
        "java",
        "cidiff-cocospoon_1754",
        "github:labri-progress/cidiff@3cad9e8e4278e0eea38551b4f71cc1cf08bd9d14:data/breakages/cocospoon_1754/fail.log",
        ("src/main/java/fil/iagl/opl/cocospoon/insert/impl/MethodInsert.java:4",),
        None,
    ),
    Case(
        "java",
        "cidiff-commonscodec_2463",
        "github:labri-progress/cidiff@3cad9e8e4278e0eea38551b4f71cc1cf08bd9d14:data/breakages/commonscodec_2463/fail.log",
        (
            "src/main/java/org/apache/commons/codec/binary/Hex.java:348",
            "src/main/java/org/apache/commons/codec/digest/DigestUtils.java:1437",
            "src/main/java/org/apache/commons/codec/digest/DigestUtils.java:1439",
        ),
        None,
    ),
    Case(
        "java",
        "cidiff-google_auto_693",
        "github:labri-progress/cidiff@3cad9e8e4278e0eea38551b4f71cc1cf08bd9d14:data/breakages/google_auto_693/fail.log",
        (
            "value/src/it/functional/src/test/java/com/google/auto/value/CompileWithEclipseTest.java:42",
        ),
        None,
    ),
    Case(
        "java",
        "cidiff-guava_1947",
        "github:labri-progress/cidiff@3cad9e8e4278e0eea38551b4f71cc1cf08bd9d14:data/breakages/guava_1947/fail.log",
        (
            "guava/src/com/google/common/collect/HashBiMap.java:104",
            "guava/src/com/google/common/collect/HashBiMap.java:105",
            "guava/src/com/google/common/collect/HashBiMap.java:120",
            "guava/src/com/google/common/collect/HashBiMap.java:123",
            "guava/src/com/google/common/collect/HashBiMap.java:133",
            "guava/src/com/google/common/collect/HashBiMap.java:136",
            "guava/src/com/google/common/collect/HashBiMap.java:161",
            "guava/src/com/google/common/collect/HashBiMap.java:162",
            "guava/src/com/google/common/collect/HashBiMap.java:164",
            "guava/src/com/google/common/collect/HashBiMap.java:165",
            "guava/src/com/google/common/collect/HashBiMap.java:195",
            "guava/src/com/google/common/collect/HashBiMap.java:205",
            "guava/src/com/google/common/collect/HashBiMap.java:311",
            "guava/src/com/google/common/collect/HashBiMap.java:312",
            "guava/src/com/google/common/collect/HashBiMap.java:313",
            "guava/src/com/google/common/collect/HashBiMap.java:314",
            "guava/src/com/google/common/collect/HashBiMap.java:346",
            "guava/src/com/google/common/collect/HashBiMap.java:347",
            "guava/src/com/google/common/collect/ImmutableBiMap.java:202",
            "guava/src/com/google/common/collect/ImmutableMap.java:155",
            "guava/src/com/google/common/collect/ImmutableMap.java:161",
            "guava/src/com/google/common/collect/ImmutableMap.java:162",
            "guava/src/com/google/common/collect/ImmutableMap.java:175",
            "guava/src/com/google/common/collect/ImmutableMap.java:253",
            "guava/src/com/google/common/collect/ImmutableMap.java:263",
            "guava/src/com/google/common/collect/ImmutableMap.java:265",
            "guava/src/com/google/common/collect/ImmutableMap.java:267",
            "guava/src/com/google/common/collect/ImmutableMap.java:268",
            "guava/src/com/google/common/collect/ImmutableMap.java:319",
            "guava/src/com/google/common/collect/ImmutableMap.java:320",
            "guava/src/com/google/common/collect/ImmutableMap.java:324",
            "guava/src/com/google/common/collect/ImmutableMap.java:342",
            "guava/src/com/google/common/collect/ImmutableMapEntrySet.java:32",
            "guava/src/com/google/common/collect/ImmutableMapEntrySet.java:47",
            "guava/src/com/google/common/collect/ImmutableSortedMap.java:277",
            "guava/src/com/google/common/collect/ImmutableSortedMap.java:278",
            "guava/src/com/google/common/collect/ImmutableSortedMap.java:457",
            "guava/src/com/google/common/collect/ImmutableSortedMap.java:459",
            "guava/src/com/google/common/collect/MapMakerInternalMap.java:1820",
            "guava/src/com/google/common/collect/MapMakerInternalMap.java:201",
            "guava/src/com/google/common/collect/MapMakerInternalMap.java:214",
            "guava/src/com/google/common/collect/MapMakerInternalMap.java:218",
            "guava/src/com/google/common/collect/MapMakerInternalMap.java:221",
            "guava/src/com/google/common/collect/MapMakerInternalMap.java:222",
            "guava/src/com/google/common/collect/MapMakerInternalMap.java:3240",
            "guava/src/com/google/common/collect/MapMakerInternalMap.java:3257",
            "guava/src/com/google/common/collect/MapMakerInternalMap.java:3258",
            "guava/src/com/google/common/collect/MapMakerInternalMap.java:3261",
            "guava/src/com/google/common/collect/MapMakerInternalMap.java:3265",
            "guava/src/com/google/common/collect/MapMakerInternalMap.java:3266",
            "guava/src/com/google/common/collect/MapMakerInternalMap.java:3269",
            "guava/src/com/google/common/collect/MapMakerInternalMap.java:3282",
            "guava/src/com/google/common/collect/MapMakerInternalMap.java:3283",
            "guava/src/com/google/common/collect/MapMakerInternalMap.java:3336",
            "guava/src/com/google/common/collect/MapMakerInternalMap.java:3425",
            "guava/src/com/google/common/collect/MapMakerInternalMap.java:3471",
            "guava/src/com/google/common/collect/MapMakerInternalMap.java:3488",
            "guava/src/com/google/common/collect/RegularImmutableMap.java:100",
            "guava/src/com/google/common/collect/RegularImmutableMap.java:126",
            "guava/src/com/google/common/collect/RegularImmutableMap.java:136",
            "guava/src/com/google/common/collect/RegularImmutableMap.java:47",
            "guava/src/com/google/common/collect/RegularImmutableMap.java:49",
            "guava/src/com/google/common/collect/RegularImmutableMap.java:52",
            "guava/src/com/google/common/collect/RegularImmutableMap.java:61",
            "guava/src/com/google/common/collect/RegularImmutableMap.java:70",
            "guava/src/com/google/common/collect/RegularImmutableMap.java:71",
            "guava/src/com/google/common/collect/RegularImmutableMap.java:74",
            "guava/src/com/google/common/collect/RegularImmutableMap.java:78",
            "guava/src/com/google/common/collect/RegularImmutableMap.java:79",
            "guava/src/com/google/common/eventbus/SubscriberRegistry.java:119",
            "guava/src/com/google/common/eventbus/SubscriberRegistry.java:120",
            "guava/src/com/google/common/eventbus/SubscriberRegistry.java:137",
            "guava/src/com/google/common/eventbus/SubscriberRegistry.java:138",
            "guava/src/com/google/common/reflect/Invokable.java:260",
            "guava/src/com/google/common/reflect/Invokable.java:261",
            "guava/src/com/google/common/reflect/Invokable.java:272",
            "guava/src/com/google/common/reflect/Invokable.java:273",
            "guava/src/com/google/common/reflect/Invokable.java:302",
            "guava/src/com/google/common/reflect/Invokable.java:303",
            "guava/src/com/google/common/reflect/Invokable.java:304",
            "guava/src/com/google/common/reflect/Invokable.java:305",
            "guava/src/com/google/common/reflect/Invokable.java:306",
            "guava/src/com/google/common/reflect/Invokable.java:307",
            "guava/src/com/google/common/reflect/TypeResolver.java:326",
            "guava/src/com/google/common/reflect/TypeResolver.java:328",
            "guava/src/com/google/common/reflect/TypeResolver.java:329",
            "guava/src/com/google/common/reflect/TypeResolver.java:330",
            "guava/src/com/google/common/reflect/TypeToken.java:985",
            "guava/src/com/google/common/reflect/TypeToken.java:987",
        ),
        None,
    ),
    Case(
        "java",
        "cidiff-jimfs_1890",
        "github:labri-progress/cidiff@3cad9e8e4278e0eea38551b4f71cc1cf08bd9d14:data/breakages/jimfs_1890/fail.log",
        ("jimfs/src/main/java/com/google/common/jimfs/JimfsFileSystemProvider.java:147",),
        None,
    ),
    Case(
        "java",
        "cidiff-jperturb_1634",
        "github:labri-progress/cidiff@3cad9e8e4278e0eea38551b4f71cc1cf08bd9d14:data/breakages/jperturb_1634/fail.log",
        ("jPerturb/src/main/java/processor/PerturbationProcessor.java:4",),
        None,
    ),
    Case(
        "java",
        "cidiff-juliac_789",
        "github:labri-progress/cidiff@3cad9e8e4278e0eea38551b4f71cc1cf08bd9d14:data/breakages/juliac_789/fail.log",
        (
            "extension/tinfi/examples/advanced/helloworld-bin/code/src/main/java/example/hw/Console.java:5",
            "extension/tinfi/examples/advanced/helloworld-osgi/interfaces/src/main/java/example/hw/itf/Activator.java:6",
            "extension/tinfi/opt/opt-ultramerge/impl/src/main/java/org/ow2/frascati/tinfi/opt/ultramerge/SCAUltraMerge.java:57",
        ),
        None,
    ),
    Case(
        "java",
        "cidiff-metamutator_1765",
        "github:labri-progress/cidiff@3cad9e8e4278e0eea38551b4f71cc1cf08bd9d14:data/breakages/metamutator_1765/fail.log",
        ("src/main/java/metamutator/LoopExpressionMetaMutator.java:2",),
        None,
    ),
    Case(
        "java",
        "cidiff-nopol_1347",
        "github:labri-progress/cidiff@3cad9e8e4278e0eea38551b4f71cc1cf08bd9d14:data/breakages/nopol_1347/fail.log",
        (
            "nopol/src/main/java/fr/inria/lille/repair/synthesis/collect/spoon/MethodCollector.java:3",
        ),
        None,
    ),
    Case(
        "java",
        "cidiff-npefix_1847",
        "github:labri-progress/cidiff@3cad9e8e4278e0eea38551b4f71cc1cf08bd9d14:data/breakages/npefix_1847/fail.log",
        ("src/main/java/fr/inria/spirals/npefix/patchTemplate/VariableFinder.java:107",),
        None,
    ),
    Case(
        "java",
        "cidiff-commonslang_2089",
        "github:labri-progress/cidiff@3cad9e8e4278e0eea38551b4f71cc1cf08bd9d14:data/breakages/commonslang_2089/fail.log",
        ("DurationUtilsTest.java:84",),
        None,
    ),
    Case(
        "java",
        "cidiff-sorald_265",
        "github:labri-progress/cidiff@3cad9e8e4278e0eea38551b4f71cc1cf08bd9d14:data/breakages/sorald_265/fail.log",
        ("WarningMinerTest.java:189",),
        None,
    ),
    Case(
        "java",
        "cidiff-cidiff_11",
        "github:labri-progress/cidiff@3cad9e8e4278e0eea38551b4f71cc1cf08bd9d14:data/breakages/cidiff_11/fail.log",
        ("LogDifferTest.java:61",),
        None,
    ),
    Case(
        "java",
        "cidiff-cidiff_57",
        "github:labri-progress/cidiff@3cad9e8e4278e0eea38551b4f71cc1cf08bd9d14:data/breakages/cidiff_57/fail.log",
        ("ConsoleClientTest.java:69",),
        None,
    ),
    Case(
        "java",
        "cidiff-assertfixer_1320",
        "github:labri-progress/cidiff@3cad9e8e4278e0eea38551b4f71cc1cf08bd9d14:data/breakages/assertfixer_1320/fail.log",
        (),
        "git clone: HTTP 503",
    ),
    Case(
        "java",
        "cidiff-spork_441",
        "github:labri-progress/cidiff@3cad9e8e4278e0eea38551b4f71cc1cf08bd9d14:data/breakages/spork_441/fail.log",
        (),
        "git clone: HTTP 503",
    ),
    Case(
        "java",
        "cidiff-astor_1278",
        "github:labri-progress/cidiff@3cad9e8e4278e0eea38551b4f71cc1cf08bd9d14:data/breakages/astor_1278/fail.log",
        (),
        "Jenkins agent channel closed",
    ),
    Case(
        "java",
        "cidiff-nopol_1590",
        "github:labri-progress/cidiff@3cad9e8e4278e0eea38551b4f71cc1cf08bd9d14:data/breakages/nopol_1590/fail.log",
        (),
        "no space left on device",
    ),
    Case(
        "java",
        "cidiff-jodatime_2082",
        "github:labri-progress/cidiff@3cad9e8e4278e0eea38551b4f71cc1cf08bd9d14:data/breakages/jodatime_2082/fail.log",
        (),
        "no space left on device",
    ),
    Case(
        "java",
        "cidiff-sorald_445",
        "github:labri-progress/cidiff@3cad9e8e4278e0eea38551b4f71cc1cf08bd9d14:data/breakages/sorald_445/fail.log",
        (),
        "no space left on device",
    ),
    Case(
        "java",
        "cidiff-dspot_842",
        "github:labri-progress/cidiff@3cad9e8e4278e0eea38551b4f71cc1cf08bd9d14:data/breakages/dspot_842/fail.log",
        (),
        "no space left on device",
    ),
    Case(
        "java",
        "cidiff-guava_2087",
        "github:labri-progress/cidiff@3cad9e8e4278e0eea38551b4f71cc1cf08bd9d14:data/breakages/guava_2087/fail.log",
        (),
        "no space left on device",
    ),
    Case(
        "java",
        "cidiff-googleguice_2121",
        "github:labri-progress/cidiff@3cad9e8e4278e0eea38551b4f71cc1cf08bd9d14:data/breakages/googleguice_2121/fail.log",
        (),
        "no space left on device",
    ),
    Case(
        "java",
        "cidiff-gumtreespoonastdiff_2017",
        "github:labri-progress/cidiff@3cad9e8e4278e0eea38551b4f71cc1cf08bd9d14:data/breakages/gumtreespoonastdiff_2017/fail.log",
        (),
        "no space left on device",
    ),
    Case(
        "java",
        "cidiff-spoonsnapshotdeployer_4314",
        "github:labri-progress/cidiff@3cad9e8e4278e0eea38551b4f71cc1cf08bd9d14:data/breakages/spoonsnapshotdeployer_4314/fail.log",
        (),
        "no space left on device",
    ),
    Case(
        "java",
        "cidiff-mimecraft_2316",
        "github:labri-progress/cidiff@3cad9e8e4278e0eea38551b4f71cc1cf08bd9d14:data/breakages/mimecraft_2316/fail.log",
        (),
        "Maven repository: HTTP 503",
    ),
    Case(
        "java",
        "cidiff-spooncontrolflow_805",
        "github:labri-progress/cidiff@3cad9e8e4278e0eea38551b4f71cc1cf08bd9d14:data/breakages/spooncontrolflow_805/fail.log",
        (),
        "snapshot dependency unresolvable",
    ),
    Case(
        "node",
        "motion5-32014982304",
        motion5("32014982304"),
        (
            "packages/core/test/integration/trigger-time.test.ts:164",
            "packages/core/test/integration/trigger-time.test.ts:52",
            "packages/core/test/integration/trigger-time.test.ts:60",
            "packages/core/test/unit/domain/motion.test.ts:129",
            "packages/core/test/unit/domain/motion.test.ts:27",
        ),
        None,
    ),
    Case(
        "node",
        "motion5-32027461324",
        motion5("32027461324"),
        ("docs/SESSION-STATUS.md",),
        None,
    ),
    Case(
        "node",
        "motion5-32221562839",
        motion5("32221562839"),
        (
            "packages/core/test/integration/trigger-time-loop.test.ts:103",
            "packages/core/test/integration/trigger-time-loop.test.ts:123",
            "packages/core/test/integration/trigger-time-loop.test.ts:150",
            "packages/core/test/integration/trigger-time-loop.test.ts:179",
            "packages/core/test/integration/trigger-time-loop.test.ts:196",
            "packages/core/test/integration/trigger-time-loop.test.ts:213",
            "packages/core/test/integration/trigger-time-loop.test.ts:227",
            "packages/core/test/integration/trigger-time-loop.test.ts:254",
            "packages/core/test/integration/trigger-time-loop.test.ts:72",
            "packages/core/test/integration/trigger-time-loop.test.ts:86",
            "packages/core/test/integration/trigger-time-loop.test.ts:98",
            "packages/core/test/unit/adapters/time-loop-cycle.test.ts:103",
            "packages/core/test/unit/adapters/time-loop-cycle.test.ts:109",
            "packages/core/test/unit/adapters/time-loop-cycle.test.ts:62",
            "packages/core/test/unit/adapters/time-loop-cycle.test.ts:68",
            "packages/core/test/unit/adapters/time-loop-cycle.test.ts:73",
            "packages/core/test/unit/adapters/time-loop-cycle.test.ts:78",
            "packages/core/test/unit/adapters/time-loop-cycle.test.ts:85",
            "packages/core/test/unit/adapters/time-loop-cycle.test.ts:89",
            "packages/core/test/unit/adapters/time-loop-cycle.test.ts:97",
        ),
        None,
    ),
    Case(
        "node",
        "motion5-32221778428",
        motion5("32221778428"),
        (
            "packages/core/test/integration/trigger-time-loop.test.ts:103",
            "packages/core/test/integration/trigger-time-loop.test.ts:123",
            "packages/core/test/integration/trigger-time-loop.test.ts:150",
            "packages/core/test/integration/trigger-time-loop.test.ts:179",
            "packages/core/test/integration/trigger-time-loop.test.ts:196",
            "packages/core/test/integration/trigger-time-loop.test.ts:213",
            "packages/core/test/integration/trigger-time-loop.test.ts:227",
            "packages/core/test/integration/trigger-time-loop.test.ts:254",
            "packages/core/test/integration/trigger-time-loop.test.ts:72",
            "packages/core/test/integration/trigger-time-loop.test.ts:86",
            "packages/core/test/integration/trigger-time-loop.test.ts:98",
            "packages/core/test/unit/adapters/time-loop-cycle.test.ts:103",
            "packages/core/test/unit/adapters/time-loop-cycle.test.ts:109",
            "packages/core/test/unit/adapters/time-loop-cycle.test.ts:62",
            "packages/core/test/unit/adapters/time-loop-cycle.test.ts:68",
            "packages/core/test/unit/adapters/time-loop-cycle.test.ts:73",
            "packages/core/test/unit/adapters/time-loop-cycle.test.ts:78",
            "packages/core/test/unit/adapters/time-loop-cycle.test.ts:85",
            "packages/core/test/unit/adapters/time-loop-cycle.test.ts:89",
            "packages/core/test/unit/adapters/time-loop-cycle.test.ts:97",
            "packages/core/test/unit/adapters/trigger-factory-no-fallback.test.ts:45",
        ),
        None,
    ),
    Case(
        "node",
        "motion5-32477515639",
        motion5("32477515639"),
        (
            "packages/core/src/plugins/fk.ts:74",
            "packages/core/test/integration/per-plugin-key-ownership.test.ts:103",
            "packages/core/test/integration/per-plugin-key-ownership.test.ts:85",
            "packages/core/test/integration/phase7-walker-demo.test.ts:292",
            "packages/core/test/integration/plugin-owned-requirements.test.ts:108",
            "packages/core/test/integration/plugin-owned-requirements.test.ts:126",
            "packages/core/test/integration/plugin-owned-requirements.test.ts:139",
            "packages/core/test/integration/plugin-owned-requirements.test.ts:161",
            "packages/core/test/integration/plugin-owned-requirements.test.ts:190",
            "packages/core/test/integration/plugin-owned-requirements.test.ts:201",
            "packages/core/test/integration/plugin-owned-requirements.test.ts:50",
            "packages/core/test/unit/domain/plugin-requirements.test.ts:34",
            "packages/core/test/unit/domain/plugin-requirements.test.ts:50",
            "packages/core/test/unit/domain/plugin-requirements.test.ts:72",
        ),
        None,
    ),
    Case(
        "node",
        "motion5-32559399081",
        motion5("32559399081"),
        (
            "packages/core/test/integration/cross-motion.test.ts:106",
            "packages/core/test/integration/cross-motion.test.ts:50",
            "packages/core/test/integration/cross-motion.test.ts:64",
            "packages/core/test/integration/cross-motion.test.ts:72",
            "packages/core/test/integration/cross-motion.test.ts:78",
            "packages/core/test/integration/observation-identity.test.ts:105",
            "packages/core/test/integration/p2-runtime-smells.test.ts:65",
            "packages/core/test/integration/p2-runtime-smells.test.ts:71",
            "packages/core/test/integration/p2-runtime-smells.test.ts:77",
            "packages/core/test/integration/partial-seed-inputs.test.ts:66",
            "packages/core/test/integration/partial-seed-inputs.test.ts:67",
            "packages/core/test/integration/partial-seed-inputs.test.ts:78",
            "packages/core/test/integration/publisher-output-merge-consistency.test.ts:47",
            "packages/core/test/integration/publisher-output-merge-consistency.test.ts:59",
            "packages/core/test/integration/publisher-output-merge-consistency.test.ts:76",
            "packages/core/test/integration/publisher-output-merge-consistency.test.ts:88",
            "packages/core/test/integration/remount.test.ts:31",
            "packages/core/test/unit/domain/track.test.ts:76",
            "packages/core/test/unit/domain/track.test.ts:94",
            "packages/core/test/unit/graph/single-input-channel.test.ts:17",
            "packages/core/test/unit/graph/single-input-channel.test.ts:18",
            "packages/core/test/unit/graph/single-input-channel.test.ts:19",
            "packages/core/test/unit/graph/single-input-channel.test.ts:27",
            "packages/core/test/unit/graph/single-input-channel.test.ts:31",
            "packages/core/test/unit/runtime/publisher-requirement-inputs.test.ts:60",
        ),
        None,
    ),
    Case(
        "node",
        "motion5-32568986919",
        motion5("32568986919"),
        (
            "packages/core/test/unit/scripts/boundary-scan.test.ts:12",
            "packages/core/test/unit/scripts/boundary-scan.test.ts:180",
            "packages/core/test/unit/scripts/boundary-scan.test.ts:189",
            "packages/core/test/unit/scripts/boundary-scan.test.ts:194",
            "packages/core/test/unit/scripts/boundary-scan.test.ts:199",
            "packages/core/test/unit/scripts/boundary-scan.test.ts:205",
            "packages/core/test/unit/scripts/boundary-scan.test.ts:222",
        ),
        None,
    ),
    Case(
        "node",
        "motion5-32573147236",
        motion5("32573147236"),
        (
            "apps/react-demo/src/full-body-project.ts:114",
            "apps/react-demo/src/full-body-project.ts:145",
            "apps/react-demo/src/full-body-project.ts:183",
            "apps/react-demo/src/full-body-project.ts:208",
            "apps/react-demo/src/full-body-project.ts:233",
            "apps/react-demo/src/full-body-project.ts:262",
            "apps/react-demo/src/full-body-project.ts:27",
            "apps/react-demo/src/full-body-project.ts:291",
            "apps/react-demo/src/full-body-project.ts:320",
            "apps/react-demo/src/full-body-project.ts:349",
            "apps/react-demo/src/full-body-project.ts:378",
            "apps/react-demo/src/full-body-project.ts:56",
            "apps/react-demo/src/full-body-project.ts:85",
            "packages/core/test/integration/keyframe-groups.test.ts:56",
            "packages/core/test/integration/keyframe-groups.test.ts:70",
            "packages/core/test/integration/keyframe-groups.test.ts:82",
            "packages/core/test/integration/mutation-transactionality.test.ts:50",
            "packages/core/test/integration/mutation-transactionality.test.ts:60",
            "packages/core/test/integration/mutation-transactionality.test.ts:75",
            "packages/core/test/integration/per-plugin-key-ownership.test.ts:111",
            "packages/core/test/integration/per-plugin-key-ownership.test.ts:118",
            "packages/core/test/integration/per-plugin-key-ownership.test.ts:123",
            "packages/core/test/integration/per-plugin-key-ownership.test.ts:36",
            "packages/core/test/integration/per-plugin-key-ownership.test.ts:49",
            "packages/core/test/integration/per-plugin-key-ownership.test.ts:90",
            "packages/core/test/integration/phase7-walker-demo.test.ts:136",
            "packages/core/test/integration/phase7-walker-demo.test.ts:155",
            "packages/core/test/integration/phase7-walker-demo.test.ts:190",
            "packages/core/test/integration/phase7-walker-demo.test.ts:210",
            "packages/core/test/integration/phase7-walker-demo.test.ts:234",
            "packages/core/test/integration/phase7-walker-demo.test.ts:260",
            "packages/core/test/integration/phase7-walker-demo.test.ts:296",
            "packages/core/test/integration/phase7-walker-demo.test.ts:32",
            "packages/core/test/integration/phase7-walker-demo.test.ts:321",
            "packages/core/test/integration/phase7-walker-demo.test.ts:342",
            "packages/core/test/integration/phase7-walker-demo.test.ts:378",
            "packages/core/test/integration/phase7-walker-demo.test.ts:57",
            "packages/core/test/integration/phase7-walker-demo.test.ts:77",
            "packages/core/test/integration/plugin-group-values-section.test.ts:148",
            "packages/core/test/integration/plugin-group-values-section.test.ts:168",
            "packages/core/test/integration/plugin-group-values-section.test.ts:184",
            "packages/core/test/integration/plugin-group-values-section.test.ts:193",
            "packages/core/test/integration/plugin-group-values-section.test.ts:198",
            "packages/core/test/integration/plugin-group-values-section.test.ts:215",
            "packages/core/test/integration/plugin-group-values-section.test.ts:229",
            "packages/core/test/integration/plugin-group-values-section.test.ts:238",
            "packages/core/test/integration/plugin-group-values-section.test.ts:248",
            "packages/core/test/integration/plugin-group-values-section.test.ts:279",
            "packages/core/test/integration/plugin-owned-requirements.test.ts:119",
            "packages/core/test/integration/plugin-owned-requirements.test.ts:121",
            "packages/core/test/integration/plugin-owned-requirements.test.ts:136",
            "packages/core/test/integration/plugin-owned-requirements.test.ts:139",
            "packages/core/test/integration/plugin-owned-requirements.test.ts:147",
            "packages/core/test/integration/plugin-owned-requirements.test.ts:155",
            "packages/core/test/integration/plugin-owned-requirements.test.ts:176",
            "packages/core/test/integration/plugin-owned-requirements.test.ts:183",
            "packages/core/test/integration/plugin-owned-requirements.test.ts:198",
            "packages/core/test/integration/plugin-owned-requirements.test.ts:201",
            "packages/core/test/integration/plugin-owned-requirements.test.ts:58",
            "packages/core/test/integration/plugin-owned-requirements.test.ts:72",
            "packages/core/test/integration/plugin-owned-requirements.test.ts:99",
            "packages/core/test/integration/replace-track-transactionality.test.ts:111",
            "packages/core/test/integration/replace-track-transactionality.test.ts:42",
            "packages/core/test/integration/replace-track-transactionality.test.ts:96",
            "packages/core/test/integration/single-input-channel.test.ts:23",
            "packages/core/test/integration/single-input-channel.test.ts:28",
            "packages/core/test/integration/single-input-channel.test.ts:52",
            "packages/core/test/unit/graph/requirement-edge-construction.test.ts:54",
            "packages/core/test/unit/graph/single-input-channel.test.ts:59",
        ),
        None,
    ),
    Case(
        "node",
        "motion5-32573353245",
        motion5("32573353245"),
        (
            "apps/react-demo/src/full-body-project.ts:114",
            "apps/react-demo/src/full-body-project.ts:145",
            "apps/react-demo/src/full-body-project.ts:183",
            "apps/react-demo/src/full-body-project.ts:208",
            "apps/react-demo/src/full-body-project.ts:233",
            "apps/react-demo/src/full-body-project.ts:262",
            "apps/react-demo/src/full-body-project.ts:27",
            "apps/react-demo/src/full-body-project.ts:291",
            "apps/react-demo/src/full-body-project.ts:320",
            "apps/react-demo/src/full-body-project.ts:349",
            "apps/react-demo/src/full-body-project.ts:378",
            "apps/react-demo/src/full-body-project.ts:56",
            "apps/react-demo/src/full-body-project.ts:85",
            "packages/core/test/integration/keyframe-groups.test.ts:56",
            "packages/core/test/integration/keyframe-groups.test.ts:70",
            "packages/core/test/integration/keyframe-groups.test.ts:82",
            "packages/core/test/integration/mutation-transactionality.test.ts:50",
            "packages/core/test/integration/mutation-transactionality.test.ts:60",
            "packages/core/test/integration/mutation-transactionality.test.ts:75",
            "packages/core/test/integration/per-plugin-key-ownership.test.ts:111",
            "packages/core/test/integration/per-plugin-key-ownership.test.ts:118",
            "packages/core/test/integration/per-plugin-key-ownership.test.ts:123",
            "packages/core/test/integration/per-plugin-key-ownership.test.ts:36",
            "packages/core/test/integration/per-plugin-key-ownership.test.ts:49",
            "packages/core/test/integration/per-plugin-key-ownership.test.ts:90",
            "packages/core/test/integration/phase7-walker-demo.test.ts:136",
            "packages/core/test/integration/phase7-walker-demo.test.ts:155",
            "packages/core/test/integration/phase7-walker-demo.test.ts:190",
            "packages/core/test/integration/phase7-walker-demo.test.ts:210",
            "packages/core/test/integration/phase7-walker-demo.test.ts:234",
            "packages/core/test/integration/phase7-walker-demo.test.ts:260",
            "packages/core/test/integration/phase7-walker-demo.test.ts:296",
            "packages/core/test/integration/phase7-walker-demo.test.ts:32",
            "packages/core/test/integration/phase7-walker-demo.test.ts:321",
            "packages/core/test/integration/phase7-walker-demo.test.ts:342",
            "packages/core/test/integration/phase7-walker-demo.test.ts:378",
            "packages/core/test/integration/phase7-walker-demo.test.ts:57",
            "packages/core/test/integration/phase7-walker-demo.test.ts:77",
            "packages/core/test/integration/plugin-owned-requirements.test.ts:119",
            "packages/core/test/integration/plugin-owned-requirements.test.ts:121",
            "packages/core/test/integration/plugin-owned-requirements.test.ts:136",
            "packages/core/test/integration/plugin-owned-requirements.test.ts:139",
            "packages/core/test/integration/plugin-owned-requirements.test.ts:147",
            "packages/core/test/integration/plugin-owned-requirements.test.ts:155",
            "packages/core/test/integration/plugin-owned-requirements.test.ts:176",
            "packages/core/test/integration/plugin-owned-requirements.test.ts:183",
            "packages/core/test/integration/plugin-owned-requirements.test.ts:198",
            "packages/core/test/integration/plugin-owned-requirements.test.ts:201",
            "packages/core/test/integration/plugin-owned-requirements.test.ts:58",
            "packages/core/test/integration/plugin-owned-requirements.test.ts:72",
            "packages/core/test/integration/plugin-owned-requirements.test.ts:99",
            "packages/core/test/integration/replace-track-transactionality.test.ts:111",
            "packages/core/test/integration/replace-track-transactionality.test.ts:42",
            "packages/core/test/integration/replace-track-transactionality.test.ts:96",
            "packages/core/test/integration/single-input-channel.test.ts:23",
            "packages/core/test/integration/single-input-channel.test.ts:28",
            "packages/core/test/integration/single-input-channel.test.ts:52",
            "packages/core/test/unit/graph/requirement-edge-construction.test.ts:54",
            "packages/core/test/unit/graph/single-input-channel.test.ts:59",
        ),
        None,
    ),
    Case(
        "rust",
        "rust-62791",
        RUST + "#62791; index file 50775348348",
        ("src/libsyntax/parse/diagnostics.rs:380", "src/libsyntax/parse/diagnostics.rs:381"),
        None,
    ),
    Case(
        "rust",
        "rust-59789",
        RUST + "#59789; index file 50945499963",
        (
            "src/librustc_mir/borrow_check/nll/constraint_generation.rs:44",
            "src/librustc_mir/borrow_check/nll/region_infer/error_reporting/mod.rs:63",
        ),
        None,
    ),
    Case(
        "rust",
        "rust-64158",
        RUST + "#64158; index file 50980145283",
        ("src/libtest/lib.rs:1648",),
        None,
    ),
    Case(
        "go",
        "go-atlas-searchindex",
        ATLAS + "TestAccSearchIndex_withVector (2026-02-24); index file 67362939379",
        ("resource_search_index_test.go:193",),
        None,
    ),
    Case(
        "go",
        "go-atlas-project",
        ATLAS + "TestAccProject_updatedToEmptyLimits (2026-01-08); index file 67524513769",
        ("resource_project_test.go:954",),
        None,
    ),
    Case(
        "python",
        "py-ciphercrest-33005919122",
        "BlackPool25/CipherCrest run 33005919122, " + LOG_FAILED + "; index file 69758106768",
        ("api/tests/test_api_ml_wiring.py:223",),
        None,
    ),
    Case(
        "python",
        "py-phoenix-25614516443",
        "Ahjan108/phoenix_omega_v4.8 run 25614516443, " + LOG_FAILED + "; index file 56298457636",
        ("brand-wizard-app/server/music_survey_routes.py:15",),
        None,
    ),
    Case(
        "python",
        "py-transformation-portal-pr541",
        "Transformation_Portal PR #541 Actions log excerpt (2025-12-09); index file 59256467360",
        ("src/transformation_portal/core/__init__.py:41",),
        None,
    ),
)


def locations(message: str) -> set[tuple[str, int]]:
    found = set()
    for match in _LOCATION.finditer(message):
        for line in match["lines"].split(","):
            found.add((match["path"], int(line)))
    return found


def same_path(a: str, b: str) -> bool:
    return a == b or a.endswith("/" + b) or b.endswith("/" + a)


def kept(expected: str, message: str, found: set[tuple[str, int]]) -> bool:
    path, _, line = expected.rpartition(":")
    if not line.isdigit():
        return expected in message
    return any(n == int(line) and same_path(p, path) for p, n in found)


@dataclass
class Score:
    logs: int = 0
    labelled: int = 0
    kept: int = 0
    infra: int = 0
    infra_recognised: int = 0
    false_infra: int = 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--logs", type=Path, default=DEFAULT_LOGS)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    scores: dict[str, Score] = {}
    ratios: dict[str, list[float]] = {}
    long_ratios: dict[str, list[float]] = {}
    missing = []
    for case in CASES:
        path = args.logs / f"{case.name}.log"
        if not path.is_file():
            missing.append(case.name)
            continue
        raw = path.read_text(errors="replace")
        result = condense(raw)
        score = scores.setdefault(case.ecosystem, Score())
        score.logs += 1
        ratio = len(result.message) / max(1, len(raw))
        ratios.setdefault(case.ecosystem, []).append(ratio)
        if result.raw_lines >= 1000:
            long_ratios.setdefault(case.ecosystem, []).append(ratio)
        infra = classify_infrastructure(raw)
        if case.infrastructure:
            score.infra += 1
            score.infra_recognised += infra is not None
        else:
            score.false_infra += infra is not None
        found = locations(result.message)
        lost = [e for e in case.expected if not kept(e, result.message, found)]
        score.labelled += len(case.expected)
        score.kept += len(case.expected) - len(lost)
        if args.verbose:
            print(
                f"{case.name}: {len(case.expected) - len(lost)}/{len(case.expected)} kept, "
                f"{ratio:.2%} of {len(raw)} chars, infra={infra}"
            )
            for e in lost:
                print(f"    lost {e}")
    print(
        f"{'ecosystem':<8} {'logs':>4} {'kept':>12} {'median size':>11} {'max (1000+ lines)':>17}"
        f" {'infra recognised':>16} {'false infra':>11}"
    )
    total = Score()
    for ecosystem, s in sorted(scores.items()):
        share = f"{s.kept}/{s.labelled} {s.kept / s.labelled:.0%}" if s.labelled else "-"
        longest = f"{max(long_ratios[ecosystem]):.2%}" if ecosystem in long_ratios else "-"
        infra = f"{s.infra_recognised}/{s.infra}" if s.infra else "-"
        print(
            f"{ecosystem:<8} {s.logs:>4} {share:>12} {statistics.median(ratios[ecosystem]):>11.2%}"
            f" {longest:>17} {infra:>16} {s.false_infra:>11}"
        )
        for field in vars(total):
            setattr(total, field, getattr(total, field) + getattr(s, field))
    every_long = [r for rs in long_ratios.values() for r in rs]
    print(
        f"{'all':<8} {total.logs:>4} {total.kept}/{total.labelled} "
        f"{total.kept / max(1, total.labelled):.0%}; logs of 1000+ lines: {len(every_long)}, "
        f"largest message {max(every_long, default=0):.2%} of the log"
    )
    if missing:
        print(f"missing from {args.logs}: {', '.join(missing)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
