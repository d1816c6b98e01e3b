"""Executes a notebook headless, as Jupyter's front ends do, and records what the kernel sent for each cell.

Usage: execute_notebook.py NOTEBOOK EXECUTED MESSAGES KERNEL CELL_TIMEOUT STARTUP_TIMEOUT

Runs NOTEBOOK in the kernel named KERNEL with nbconvert's ExecutePreprocessor (nbclient), in the notebook's
own folder, and writes the executed notebook to EXECUTED: its outputs are what a front end shows once the
cells have run (display_data updated in place by update_display_data with the same display id). Every
message that nbclient handles for a cell is also written to MESSAGES, one JSON object a line, so that a
test can see how the output came about (which display ids, which updates). Errors in cells do not stop the
run (allow_errors): the caller asserts on every cell's outputs. CELL_TIMEOUT and STARTUP_TIMEOUT are seconds.
"""
import json
import sys

import nbformat
from nbconvert.preprocessors import ExecutePreprocessor


class RecordingPreprocessor(ExecutePreprocessor):
    def __init__(self, messages, **kwargs):
        super().__init__(**kwargs)
        self.messages = messages

    def process_message(self, msg, cell, cell_index):
        content = msg.get("content", {})
        data = content.get("data", {})
        record = {
            "cell": cell_index,
            "msg_type": msg.get("msg_type"),
            "display_id": content.get("transient", {}).get("display_id"),
            "mime": sorted(data),
            "text": data.get("text/plain") or content.get("text") or content.get("evalue"),
        }
        self.messages.write(json.dumps(record) + "\n")
        self.messages.flush()
        return super().process_message(msg, cell, cell_index)


def main(notebook, executed, messages, kernel, cell_timeout, startup_timeout):
    with open(notebook, encoding="utf-8") as source:
        nb = nbformat.read(source, as_version=4)
    folder = notebook.rsplit("/", 1)[0] if "/" in notebook else "."
    with open(messages, "w", encoding="utf-8") as log:
        preprocessor = RecordingPreprocessor(
            log,
            kernel_name=kernel,
            timeout=int(cell_timeout),
            startup_timeout=int(startup_timeout),
            allow_errors=True,
        )
        preprocessor.preprocess(nb, {"metadata": {"path": folder}})
    with open(executed, "w", encoding="utf-8") as target:
        nbformat.write(nb, target)


if __name__ == "__main__":
    main(*sys.argv[1:])
