#define PY_SSIZE_T_CLEAN
#include <Python.h>

static struct PyModuleDef speedups = {PyModuleDef_HEAD_INIT, "_speedups", NULL, -1, NULL};

PyMODINIT_FUNC PyInit__speedups(void)
{
    PyObject *module = PyModule_Create(&speedups);
    if (module != NULL)
        PyModule_AddStringConstant(module, "built_with", PY_VERSION);
    return module;
}
