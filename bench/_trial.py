"""Entry of a trial process: ``python -m bench._trial MODULE --trial KIND --params JSON``.

Kept tiny on purpose: under forkserver and spawn every worker process re-imports the main
module, so the main module of a process that supervises workers must cost nothing to import.
"""

if __name__ == "__main__":
    import sys

    from bench._common import trial_main

    sys.exit(trial_main(sys.argv[1], sys.argv[2:]))
