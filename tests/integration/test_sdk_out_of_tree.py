#!/usr/bin/env python3
"""Build tests/sdk/hello.c out of tree against an installed SDK, then load it.

Steps, each a check:
  1. `cmake --install $SRM_BUILD_DIR --prefix TMP` puts the SDK headers in
     TMP/include/srm and srm-plugin.pc in TMP/lib*/pkgconfig.
  2. hello.c compiles with nothing but `pkg-config --cflags srm-plugin`.
  3. hello.so exports exactly one dynamic function symbol, srm_plugin_entry.
  4. Its descriptor is ABI 1.x and named "hello" (read with ctypes).
  5. `srmd -c CONFIG --describe hello` exits 0 and shows the name, version
     and schema keys.

Skips (exit 0) only when cc or pkg-config is missing. Environment:
SRM_BUILD_DIR (the CMake build folder), SRM_SOURCE_DIR (the checkout).
"""
import ctypes
import glob
import os
import shutil
import subprocess
import sys
import tempfile

TIMEOUT = 120

passed = 0
failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name}")
        if detail:
            print("     " + detail.rstrip().replace("\n", "\n     "))
    return ok


def run(cmd, env=None):
    """Run cmd; return (returncode, stdout, stderr). Never raises on exit."""
    try:
        p = subprocess.run(cmd, env=env, capture_output=True, text=True,
                           timeout=TIMEOUT)
        return p.returncode, p.stdout, p.stderr
    except (OSError, subprocess.TimeoutExpired) as e:
        return -1, "", str(e)


def finish():
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


# The first members of struct srm_plugin (include/srm/plugin.h); only these
# are read here, so later members need not be declared.
class PluginHead(ctypes.Structure):
    _fields_ = [("abi_major", ctypes.c_uint32),
                ("abi_minor", ctypes.c_uint32),
                ("struct_size", ctypes.c_uint32),
                ("name", ctypes.c_char_p),
                ("version", ctypes.c_char_p),
                ("description", ctypes.c_char_p)]


def main():
    build = os.environ.get("SRM_BUILD_DIR")
    source = os.environ.get("SRM_SOURCE_DIR")
    if not build or not source:
        print("SRM_BUILD_DIR and SRM_SOURCE_DIR must be set")
        sys.exit(2)
    cc = shutil.which("cc")
    pkg_config = shutil.which("pkg-config")
    if cc is None or pkg_config is None:
        print("skipped: cc or pkg-config is not installed")
        print("0 passed, 0 failed")
        sys.exit(0)

    with tempfile.TemporaryDirectory(prefix="srm-sdk-") as tmp:
        prefix = os.path.join(tmp, "prefix")
        rc, out, err = run(["cmake", "--install", build, "--prefix", prefix])
        if not check("cmake --install into a temporary prefix", rc == 0,
                     out + err):
            finish()

        header = os.path.join(prefix, "include", "srm", "plugin.h")
        check("SDK header installed as include/srm/plugin.h",
              os.path.isfile(header))
        pcs = glob.glob(os.path.join(prefix, "lib*", "pkgconfig",
                                     "srm-plugin.pc"))
        pcs += glob.glob(os.path.join(prefix, "lib*", "*", "pkgconfig",
                                      "srm-plugin.pc"))
        if not check("srm-plugin.pc installed under lib*/pkgconfig",
                     len(pcs) == 1, repr(pcs)):
            finish()

        env = dict(os.environ)
        env["PKG_CONFIG_PATH"] = os.path.dirname(pcs[0])
        # The .pc was configured with the build's install prefix; point it at
        # the temporary one, as a packager relocating the SDK would.
        rc, cflags, err = run([pkg_config, "--define-variable=prefix=" +
                               prefix, "--cflags", "srm-plugin"], env=env)
        if not check("pkg-config --cflags srm-plugin", rc == 0, err):
            finish()
        check("cflags name the installed include folder",
              "-I" + os.path.join(prefix, "include") in cflags.split(),
              cflags)

        plugins = os.path.join(tmp, "plugins")
        os.mkdir(plugins)
        so = os.path.join(plugins, "hello.so")
        hello_c = os.path.join(source, "tests", "sdk", "hello.c")
        cmd = ([cc] + cflags.split() +
               ["-std=c11", "-Wall", "-Wextra", "-Werror", "-shared",
                "-o", so, hello_c])
        rc, out, err = run(cmd)
        if not check("hello.c builds out of tree with the SDK alone",
                     rc == 0, " ".join(cmd) + "\n" + out + err):
            finish()

        rc, out, err = run(["nm", "-D", "--defined-only", so])
        funcs = [line.split()[-1] for line in out.splitlines()
                 if len(line.split()) >= 3 and line.split()[1] in "TtWi"]
        check("hello.so exports exactly one function, srm_plugin_entry",
              rc == 0 and funcs == ["srm_plugin_entry"],
              f"nm: rc={rc} functions={funcs}\n{err}")

        try:
            lib = ctypes.CDLL(so, mode=os.RTLD_NOW | os.RTLD_LOCAL)
            entry = lib.srm_plugin_entry
            entry.restype = ctypes.POINTER(PluginHead)
            # A host table with only abi_major, abi_minor and struct_size:
            # hello's entry point reads nothing else.
            host = (ctypes.c_uint32 * 3)(1, 0, 12)
            desc = entry(ctypes.byref(host))
            ok = bool(desc) and desc.contents.abi_major == 1 and \
                desc.contents.name == b"hello"
            detail = "" if not desc else \
                f"abi {desc.contents.abi_major} name {desc.contents.name}"
        except (OSError, AttributeError) as e:
            ok, detail = False, str(e)
        check("srm_plugin_entry returns the hello descriptor, ABI 1", ok,
              detail)

        config = os.path.join(tmp, "srmd.yaml")
        with open(config, "w") as f:
            f.write("daemon:\n"
                    f"  plugin_dir: {plugins}\n"
                    f"  database: {os.path.join(tmp, 'db')}\n"
                    f"  socket: {os.path.join(tmp, 'sock')}\n")
        srmd = os.path.join(build, "bin", "srmd")
        rc, out, err = run([srmd, "-c", config, "--describe", "hello"])
        detail = f"exit {rc}\nstdout:\n{out}\nstderr:\n{err}"
        check("srmd --describe hello exits 0", rc == 0, detail)
        check("srmd --describe hello shows name, version and schema keys",
              "hello" in out and "1.0.0" in out and "url" in out and
              "max_lines" in out, detail)

    finish()


if __name__ == "__main__":
    main()
