"""The ``weightinit`` command line (also ``python -m weightinit``).

    weightinit init [ARCH | spec.json] [--dtype D] [--seed N] [--threads N] [--out PATH]
                    [--force] [--dry-run] [--json] [--quiet | --progress]
    weightinit list [--json]
    weightinit spec ARCH [--out spec.json]
    weightinit recommend ACTIVATION [--param X] [--json]
    weightinit demo NAME|all [--out PATH]
    weightinit inspect CHECKPOINT [--expect ARCH|SPEC|CONFIG|metadata] [--plot OUT.png] [--json]
    weightinit bench [...]

Exit status: 0 success; 1 the work failed or was refused (existing --out without --force,
unwritable path, not enough disk space or memory, I/O error); 2 bad usage (unknown architecture
or command, bad option, invalid spec file); 130 interrupted (Ctrl-C); 128 + N ended by signal N
(SIGTERM 143, SIGHUP 129) -- the partial file removed in every case. ``inspect`` exits 1 when it
flags a tensor, so a script can stop before a long training job.

A subcommand is a function ``_add_NAME(sub)`` that adds its parser and sets ``run=`` to the
function doing the work (``run(args) -> exit status``); list it in :data:`COMMANDS`.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import secrets
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

PROG = "weightinit"
EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INTERRUPT = 0, 1, 2, 130
_DTYPES = ("float32", "bfloat16", "float16", "float64")


class _UsageError(Exception):
    pass


class _Failure(Exception):
    """The work was refused or failed (exit status 1)."""


def _human(n: float, unit: str = "B") -> str:
    for prefix in ("", "K", "M", "G", "T"):
        if abs(n) < 1000 or prefix == "T":
            return f"{n:.1f} {prefix}{unit}" if prefix else f"{int(n)} {unit}"
        n /= 1000
    return f"{n} {unit}"  # pragma: no cover


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    """" (did you mean 'x'?)" for the choices close to ``word`` (difflib), else ""."""
    close = difflib.get_close_matches(word.lower(), [c.lower() for c in choices], n=3,
                                      cutoff=0.6)
    names = {c.lower(): c for c in choices}
    if not close:
        return ""
    return " (did you mean " + " or ".join(repr(names[c]) for c in close) + "?)"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        m = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if m and "did you mean" not in message:
            message += did_you_mean(m[1], re.findall(r"'([^']*)'", m[2]))
        return super().error(message)


def _add_init(sub: Any) -> None:
    from .architectures import names

    pi = sub.add_parser(
        "init", help="initialize a model and write it as a .safetensors file",
        description="Initialize every tensor of a built-in architecture or a JSON model spec "
                    "and write it to a .safetensors file, filling the file in place (peak memory "
                    "stays small whatever the model size). The same seed gives the same bytes "
                    "for any --threads. The file appears under its final name only once "
                    "complete; an existing file is replaced only with --force.",
        epilog=f"Architectures: {', '.join(names())} (see 'weightinit list'). "
               "Example: weightinit init llama-7b --dtype bf16 --seed 0")
    pi.add_argument("model", nargs="?", default=None, metavar="ARCH|SPEC.json|config.json",
                    help="a built-in architecture, a model spec file, or a Hugging Face "
                         "config.json (or a directory holding one) (default: gpt2)")
    pi.add_argument("--dtype", default=None, type=_dtype, metavar="DTYPE",
                    help="dtype of the tensors: float32, bfloat16, float16, float64, or fp32, "
                         "bf16, fp16, half, float (torch's: float32), double, torch.bfloat16, "
                         "... (default: float32, or a Hugging Face config's dtype)")
    pi.add_argument("--seed", type=_seed, default=None,
                    help="seed, an integer in [0, 2**64) (default: a fresh random seed, printed "
                         "and stored in the file's metadata)")
    pi.add_argument("--threads", type=_positive, default=None,
                    help="threads filling the tensors (default: every usable CPU, or "
                         "$WEIGHTINIT_NUM_THREADS)")
    pi.add_argument("--out", "-o", default=None, metavar="PATH",
                    help="output file (default: ARCH-init.safetensors); a symlink is written "
                         "through")
    pi.add_argument("--force", "-f", action="store_true",
                    help="replace --out if it exists (default: refuse)")
    pi.add_argument("--dry-run", "-n", action="store_true",
                    help="check everything and print what would be written (tensors, shapes, "
                         "dtypes, initializers, bytes, target); write nothing")
    pi.add_argument("--json", action="store_true",
                    help="print the result (or the --dry-run plan) as JSON on stdout")
    pi.add_argument("--progress", dest="progress", action="store_true", default=None,
                    help="show a progress bar even when stderr is not a terminal")
    pi.add_argument("--no-progress", dest="progress", action="store_false",
                    help="never show a progress bar (default: shown on a terminal)")
    pi.add_argument("--quiet", "-q", action="store_true",
                    help="no progress bar and no messages on stderr except errors")
    pi.add_argument("--fsync", action="store_true",
                    help="wait until the data is on disk before renaming the file into place")
    hf = pi.add_argument_group("Hugging Face configs (writes a from_pretrained directory)")
    hf.add_argument("--hf", metavar="MODEL_TYPE", default=None,
                    help="a transformers model_type (llama, mistral, qwen2, qwen3, gemma, gemma2, "
                         "phi3, gpt2, gpt_neox, bert, vit, t5) with its default config")
    hf.add_argument("--set", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                    help="config fields (values parsed as JSON, else a string)")
    hf.add_argument("--head", nargs="?", const=True, default=None, metavar="CLASS",
                    help="the head model's names: the family's first (LlamaForCausalLM, "
                         "GPT2LMHeadModel, BertForMaskedLM, ViTForImageClassification, "
                         "T5ForConditionalGeneration, ...) or the model class named "
                         "(default: the config's architectures)")
    hf.add_argument("--no-head", dest="head", action="store_false",
                    help="the bare model's names (LlamaModel, BertModel, T5Model, ...) whatever "
                         "the config's architectures")
    hf.add_argument("--max-shard-size", default="5GB", metavar="SIZE",
                    help="shard above this size, HF's convention (default: 5GB = 5*10**9 bytes)")
    pi.set_defaults(run=_cmd_init)


def _add_list(sub: Any) -> None:
    pl = sub.add_parser("list", help="list the built-in architectures with parameter counts",
                        description="List the built-in architectures: name, parameter count, "
                                    "size in float32 and bfloat16, description and source.")
    pl.add_argument("--json", action="store_true", help="machine-readable output")
    pl.add_argument("--verbose", "-v", action="store_true", help="also print each source")
    pl.set_defaults(run=_cmd_list)


def _add_spec(sub: Any) -> None:
    ps = sub.add_parser("spec", help="print or save an architecture's model spec (JSON)",
                        description="Print a built-in architecture's model spec as JSON (or "
                                    "save it with --out), to edit and pass to 'weightinit init'.")
    ps.add_argument("arch", metavar="ARCH", help="a built-in architecture, or a Hugging Face "
                                                 "config.json (or a directory holding one)")
    ps.add_argument("--out", "-o", default=None, metavar="PATH", help="write to PATH")
    ps.set_defaults(run=_cmd_spec)


def _add_recommend(sub: Any) -> None:
    pr = sub.add_parser("recommend", help="recommended initialization for an activation",
                        description="Print the initialization recommended for the weights "
                                    "that feed ACTIVATION, with the reason and references.")
    pr.add_argument("activation", metavar="ACTIVATION", nargs="?",
                    help="relu, leaky_relu, prelu, gelu, silu, tanh, sigmoid, selu, ...")
    pr.add_argument("--check", action="store_true",
                    help="measure every recommendation (or ACTIVATION's) at depth 50, width 512 "
                         "beside the mean-field theory and print the table (~40 s)")
    pr.add_argument("--markdown", action="store_true", help="with --check: a Markdown table")
    pr.add_argument("--param", type=float, default=None,
                    help="negative slope of leaky_relu / initial slope of prelu")
    pr.add_argument("--json", action="store_true", help="machine-readable output")
    pr.set_defaults(run=_cmd_recommend)


def _add_report(sub: Any) -> None:
    pp = sub.add_parser(
        "report", help="compare initialization schemes on a deep MLP (table and figure)",
        description="Measure each scheme with weightinit.diagnose on one architecture and "
                    "activation, print the comparison and, with --out, draw per-layer activation "
                    "and gradient histograms and variances (PNG, or SVG/PDF by extension; needs "
                    "matplotlib: pip install 'weightinit[plot]').")
    pp.add_argument("--widths", default="256x30", help="WIDTHxDEPTH or w0-w1-...-wL "
                                                        "(default 256x30)")
    pp.add_argument("--activation", default="relu", help="a name of weightinit.ACTIVATIONS")
    pp.add_argument("--schemes", default="xavier_normal,kaiming_normal",
                    help="comma-separated scheme names ('recommended' for the advice)")
    pp.add_argument("--out", "-o", default=None, metavar="PATH", help="write the figure")
    pp.add_argument("--batch", type=_positive, default=256)
    pp.add_argument("--seed", type=_seed, default=0)
    pp.add_argument("--json", action="store_true", help="print the diagnoses as JSON")
    pp.set_defaults(run=_cmd_report)


def _add_bench(sub: Any) -> None:
    # parsed by weightinit.benchmark itself (see main); here for --help and did-you-mean
    sub.add_parser("bench", add_help=False, help="measure fill throughput against NumPy / torch "
                                                 "(options: weightinit bench --help)")


def _add_demo(sub: Any) -> None:
    from .demos import DEMOS

    pd = sub.add_parser(
        "demo", help="run a classic demonstration of why initialization matters",
        description="Print a demonstration's numbers; with --out also draw its figure (needs "
                    "matplotlib: pip install 'weightinit[plot]'). 'demo all --out DIR' writes "
                    "every figure as DIR/NAME.png.",
        epilog=f"Demonstrations: {', '.join(DEMOS)}, all")
    pd.add_argument("name", metavar="NAME", choices=list(DEMOS) + ["all"],
                    help=f"one of {', '.join(DEMOS)}, all")
    pd.add_argument("--out", "-o", default=None, metavar="PATH",
                    help="figure file, or a directory (NAME.png inside it)")
    pd.add_argument("--seed", type=_seed, default=0)
    pd.add_argument("--json", action="store_true", help="print the numbers as JSON")
    pd.set_defaults(run=_cmd_demo)


def _add_inspect(sub: Any) -> None:
    pn = sub.add_parser(
        "inspect", help="per-tensor statistics of a checkpoint, flagging what does not fit",
        description="Read a .safetensors file or a Hugging Face directory in one multithreaded "
                    "pass in bounded memory: shape, dtype, mean, std, min, max, zeros and "
                    "non-finite values per tensor. With --expect, flag every tensor whose "
                    "statistics do not fit its initializer. Exit status 1 when any is flagged.")
    pn.add_argument("checkpoint", metavar="CHECKPOINT", help="a .safetensors file or HF directory")
    pn.add_argument("--expect", default=None, metavar="ARCH|SPEC.json|CONFIG|metadata",
                    help="what the checkpoint should follow: an architecture, a spec file, an "
                         "HF config.json, or 'metadata' (the spec weightinit stored in the file)")
    pn.add_argument("--dtype", default=None, choices=_DTYPES, help="the dtype every tensor should have")
    pn.add_argument("--tensors", default=None, help="comma-separated names: read (and plot) only these")
    pn.add_argument("--plot", default=None, metavar="OUT.png",
                    help="histograms of the flagged (or --tensors) tensors")
    pn.add_argument("--threads", type=_positive, default=None)
    pn.add_argument("--json", action="store_true", help="machine-readable output")
    pn.set_defaults(run=_cmd_inspect)


COMMANDS: List[Callable[[Any], None]] = [_add_init, _add_list, _add_spec, _add_recommend,
                                         _add_report, _add_demo, _add_inspect, _add_bench]


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    p = _Parser(
        prog=PROG,
        description="Fast, reproducible neural-network weight initialization. Writes whole "
                    "initialized models as .safetensors files in bounded memory.",
        epilog="Run 'weightinit COMMAND --help' for a command's options. Exit status: 0 ok, "
               "1 failure or refusal (I/O, disk space, memory, existing file), 2 bad usage, "
               "130 interrupted, 128+N ended by signal N.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return p


def _seed(text: str) -> int:
    try:
        v = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if not 0 <= v < 2**64:
        raise argparse.ArgumentTypeError(f"must be in [0, 2**64), got {v}")
    return v


def _positive(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def _dtype(text: str) -> str:
    """A dtype spelling -> its canonical name; a bare "float" is torch's (float32): the file is
    a PyTorch checkpoint."""
    from ._random import DTYPE_ALIASES

    name = "float32" if text.strip().lower() == "float" else DTYPE_ALIASES.get(
        text.strip().lower(), text.strip())
    if name not in _DTYPES:
        spellings = list(_DTYPES) + ["float"] + list(DTYPE_ALIASES)
        raise argparse.ArgumentTypeError(
            f"invalid choice: {text!r} (choose from {', '.join(_DTYPES)}, or "
            f"{', '.join(['float'] + list(DTYPE_ALIASES))})" + did_you_mean(text, spellings))
    return name


def _load_model(model: str) -> Tuple[Any, str]:
    """(spec, default output stem) for an architecture name, a spec file or an HF config."""
    from . import architectures, hf
    from .models import ModelSpec

    if hf.is_config(model):
        try:
            spec = hf.spec_from_config(model)
        except (ValueError, TypeError) as exc:
            raise _UsageError(str(exc)) from None
        return spec, spec.name
    if os.path.isfile(model) or model.endswith(".json"):
        try:
            spec = ModelSpec.load(model)
        except FileNotFoundError:
            raise _UsageError(f"spec file {model!r} not found") from None
        except IsADirectoryError:
            raise _UsageError(f"{model!r} is a directory, not a spec file") from None
        except (ValueError, TypeError, KeyError, UnicodeDecodeError) as exc:
            raise _UsageError(f"invalid spec file {model!r}: {exc}") from None
        stem = os.path.splitext(os.path.basename(model))[0]
        return spec, (spec.name or stem)
    try:
        name = architectures.canonical(model)
    except ValueError:
        close = did_you_mean(model.replace("_", "-"), architectures.names())
        raise _UsageError(f"unknown architecture {model!r}{close}. Run "
                          "'weightinit list' to see them, or pass a spec .json file") from None
    return architectures.get(name), name


def _say(args: Any, *lines: str) -> None:
    if not getattr(args, "quiet", False):
        for line in lines:
            print(line, file=sys.stderr)


def _load_hint(out: str) -> str:
    return (f"load it with: from safetensors.torch import load_file; "
            f"state_dict = load_file({out!r})")


def _cmd_init(args: Any) -> int:
    from . import hf
    from . import safetensors_io as st

    if args.hf or args.set or args.head is not None or (args.model and hf.is_config(args.model)):
        try:
            return hf.cli_init(args)
        except (ValueError, TypeError) as exc:
            raise _UsageError(str(exc)) from None
        except FileExistsError as exc:
            raise _Failure(f"{exc}; pass --force to replace it") from None
    args.model = args.model or "gpt2"
    args.dtype = args.dtype or "float32"
    spec, stem = _load_model(args.model)
    out = args.out or f"{re.sub(r'[^A-Za-z0-9_.+-]+', '-', stem)}-init.safetensors"
    seed = args.seed if args.seed is not None else secrets.randbits(64)
    progress = False if args.quiet else args.progress
    try:
        plan = st.plan_safetensors(spec, out, seed=seed, dtype=args.dtype, overwrite=True)
    except (ValueError, TypeError) as exc:
        raise _UsageError(str(exc)) from None
    if plan.exists and not args.force:
        raise _Failure(f"{out} exists; pass --force to replace it")
    if args.dry_run:
        return _print_plan(args, plan, stem, spec)
    _say(args, f"{PROG}: {stem}: {spec.num_params():,} parameters, {len(spec)} tensors, "
               f"{args.dtype} ({_human(plan.nbytes)}), seed {seed} -> {out}")
    t0 = time.perf_counter()
    try:
        st.save_safetensors(spec, out, seed=seed, dtype=args.dtype, threads=args.threads,
                            progress=progress, fsync=args.fsync, overwrite=args.force)
    except (ValueError, TypeError) as exc:
        raise _UsageError(str(exc)) from None
    dt = time.perf_counter() - t0
    total = os.path.getsize(out)
    if args.json:
        print(json.dumps(dict(path=out, model=stem, seed=seed, dtype=args.dtype,
                              params=spec.num_params(), tensors=len(spec), bytes=total,
                              seconds=round(dt, 3), load=_load_hint(out)), indent=1))
    else:
        print(f"wrote {out}: {_human(total)} in {dt:.2f} s ({_human(total / dt, 'B/s')}), "
              f"seed {seed}")
    _say(args, _load_hint(out))
    return EXIT_OK


def _print_plan(args: Any, plan: Any, stem: str, spec: Any) -> int:
    rows = [dict(name=n, shape=list(p.shape), dtype=dt.name, init=p.init,
                 kwargs={k: v for k, v in p.kwargs.items()}, bytes=p.size * dt.itemsize)
            for n, p, dt, _ in sorted(plan.layout, key=lambda e: e[3])]
    if args.json:
        print(json.dumps(dict(dry_run=True, path=plan.path, real_path=plan.real_path,
                              exists=plan.exists, model=stem, seed=plan.seed, dtype=plan.dtype,
                              params=spec.num_params(), bytes=plan.nbytes, tensors=rows),
                         indent=1, default=str))
        return EXIT_OK
    target = plan.path if plan.real_path == os.path.abspath(plan.path) else (
        f"{plan.path} -> {plan.real_path}")
    print(f"dry run, nothing written: {stem}, {spec.num_params():,} parameters, {len(rows)} "
          f"tensors, seed {plan.seed}")
    w = max([len(r["name"]) for r in rows] + [4])
    print(f"{'name':<{w}}  {'shape':<20} {'dtype':<9} {'bytes':>14}  init")
    for r in rows:
        call = ", ".join(f"{k}={v!r}" for k, v in r["kwargs"].items())
        print(f"{r['name']:<{w}}  {str(tuple(r['shape'])):<20} {r['dtype']:<9} "
              f"{r['bytes']:>14,}  {r['init']}({call})")
    print(f"total: {plan.nbytes:,} bytes ({_human(plan.nbytes)}, header included) -> {target}"
          f"{' (exists: would be replaced)' if plan.exists else ''}")
    return EXIT_OK


def _cmd_list(args: Any) -> int:
    from . import architectures

    rows: List[Dict[str, Any]] = []
    for name in architectures.names():
        spec = architectures.get(name)
        rows.append(dict(name=name, params=spec.num_params(), tensors=len(spec),
                         bytes_float32=spec.nbytes("float32"),
                         bytes_bfloat16=spec.nbytes("bfloat16"),
                         aliases=list(architectures.ARCHITECTURES[name][2]),
                         description=spec.description, source=spec.source))
    if args.json:
        print(json.dumps(rows, indent=1))
        return EXIT_OK
    print(f"{'name':<12} {'parameters':>15} {'float32':>10} {'bfloat16':>10}  description")
    for r in rows:
        print(f"{r['name']:<12} {r['params']:>15,} {_human(r['bytes_float32']):>10} "
              f"{_human(r['bytes_bfloat16']):>10}  {r['description']}")
        if args.verbose:
            print(f"{'':<12} source: {r['source']}")
    return EXIT_OK


def _cmd_spec(args: Any) -> int:
    spec, _ = _load_model(args.arch)
    if args.out:
        spec.save(args.out)
        print(f"wrote {args.out}: {len(spec)} tensors, {spec.num_params():,} parameters",
              file=sys.stderr)
    else:
        print(spec.to_json())
    return EXIT_OK


def _cmd_recommend(args: Any) -> int:
    from .recommend import ACTIVATIONS, recommend

    if args.check:
        from . import meanfield

        try:
            rows = meanfield.check_recommendations([args.activation] if args.activation else ())
        except (ValueError, TypeError) as exc:
            raise _UsageError(str(exc)) from None
        print(meanfield.check_table(rows, markdown=args.markdown))
        return EXIT_OK
    if args.activation is None:
        raise _UsageError("ACTIVATION is required (or --check for every recommendation)")
    try:
        rec = recommend(args.activation, args.param)
    except (ValueError, TypeError) as exc:
        hint = did_you_mean(args.activation, ACTIVATIONS) if "not known" in str(exc) else ""
        raise _UsageError(f"{exc}{hint}") from None
    if args.json:
        d = {k: getattr(rec, k) for k in ("activation", "scheme", "distribution", "mode", "gain",
                                          "scale", "bias", "formula", "why")}
        d.update(kwargs=dict(rec.kwargs), references=list(rec.references),
                 alternatives=list(rec.alternatives), depth=rec.depth,
                 critical=list(rec.critical) if rec.critical else None)
        print(json.dumps(d, indent=1))
        return EXIT_OK
    call = ", ".join(f"{k}={v!r}" for k, v in rec.kwargs)
    print(f"activation:   {rec.activation}")
    print(f"scheme:       weightinit.{rec.scheme}(w{', ' + call if call else ''})")
    print(f"weights:      {rec.formula}")
    print(f"gain:         {rec.gain:.6g} (variance scale {rec.scale:.6g}, {rec.mode})")
    print(f"bias:         {rec.bias}")
    print(f"why:          {rec.why}")
    if rec.depth:
        print(f"depth:        {rec.depth}")
    for alt in rec.alternatives:
        print(f"alternative:  {alt}")
    for ref in rec.references:
        print(f"reference:    {ref}")
    return EXIT_OK


def _cmd_report(args: argparse.Namespace) -> int:
    from .report import report

    try:
        rep = report(args.widths, args.activation, args.schemes.split(","), out=args.out,
                     batch=args.batch, seed=args.seed, print_table=not args.json)
    except (ValueError, TypeError) as exc:
        raise _UsageError(str(exc)) from None
    except ImportError as exc:
        print(f"{PROG} report: {exc}", file=sys.stderr)
        return EXIT_FAIL
    if args.json:
        print(json.dumps([d.to_dict() for d in rep.diagnoses], indent=1))
    elif rep.figure:
        print(f"wrote {rep.figure}")
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demos import DEMOS, run

    names = list(DEMOS) if args.name == "all" else [args.name]
    as_dir = args.out is not None and (len(names) > 1 or os.path.isdir(args.out)
                                       or args.out.endswith(os.sep))
    if as_dir:
        os.makedirs(args.out, exist_ok=True)
    results = []
    for name in names:
        demo = run(name, seed=args.seed)
        results.append({"name": demo.name, "claim": demo.claim, "numbers": demo.numbers})
        if not args.json:
            print(f"{demo}\n")
        if args.out is not None:
            path = os.path.join(args.out, f"{name}.png") if as_dir else args.out
            try:
                demo.save(path)
            except ImportError as exc:
                print(f"{PROG} demo: {exc}", file=sys.stderr)
                return EXIT_FAIL
            print(f"wrote {path}", file=sys.stderr)
    if args.json:
        print(json.dumps(results if len(results) > 1 else results[0], indent=1))
    return EXIT_OK


def _cmd_inspect(args: argparse.Namespace) -> int:
    from .checkpoint_stats import inspect, plot

    tensors = [t for t in args.tensors.split(",") if t] if args.tensors else None
    try:
        rep = inspect(args.checkpoint, expect=args.expect, dtype=args.dtype, tensors=tensors,
                      threads=args.threads)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        raise _UsageError(str(exc)) from None
    print(json.dumps(rep.to_dict(), indent=1) if args.json else rep)
    if args.plot:
        try:
            plot(rep, args.plot, tensors)
        except ImportError as exc:
            print(f"{PROG} inspect: {exc}", file=sys.stderr)
            return EXIT_FAIL
        except ValueError as exc:
            raise _UsageError(str(exc)) from None
        print(f"wrote {args.plot}", file=sys.stderr)
    return EXIT_FAIL if rep.flagged else EXIT_OK


def _cmd_bench(argv: List[str]) -> int:
    try:
        from . import benchmark
    except ImportError as exc:
        print(f"{PROG} bench: the benchmark module is not available ({exc})", file=sys.stderr)
        return EXIT_USAGE
    try:
        return int(benchmark.main(list(argv)) or 0)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else EXIT_USAGE)


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the ``weightinit`` console script; returns the exit status."""
    from .safetensors_io import Terminated, signals_raise

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "bench":
        return _cmd_bench(argv[1:])
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help / --version (0) or a usage error, already printed (2)
        return e.code if isinstance(e.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    what = f"{PROG} {args.command}"
    try:
        with signals_raise(redeliver=False):  # SIGTERM/SIGHUP unwind like Ctrl-C
            return int(args.run(args))
    except _UsageError as exc:
        print(f"{what}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except _Failure as exc:
        print(f"{what}: error: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:
        print(f"{what}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPT
    except Terminated as exc:
        print(f"{what}: {exc}", file=sys.stderr)
        return 128 + exc.signum
    except BrokenPipeError:  # pragma: no cover - e.g. 'weightinit spec gpt2 | head'
        return EXIT_OK
    except ImportError as exc:  # --progress without tqdm
        print(f"{what}: error: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except MemoryError as exc:
        print(f"{what}: error: {str(exc) or 'out of memory'}", file=sys.stderr)
        return EXIT_FAIL
    except OSError as exc:
        what_failed = exc.strerror or str(exc)
        where = (f": {exc.filename}" if exc.filename and str(exc.filename) not in what_failed
                 else "")
        print(f"{what}: error: {what_failed}{where}", file=sys.stderr)
        return EXIT_FAIL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
