__version__ = "0.1.0"
# The user-facing names, importable from the package itself: `from adapt_nb import adapt, load_adapted, ...`.
# They load on first use (PEP 562), so that `import adapt_nb.bide` stays light and importing the package changes nothing.
# This file is written by hand (nbdev only updates the version line above); the names come from the notebooks' modules.
_NAMES = dict(adapt='pipeline', AdaptResult='pipeline', run_method='methods', METHODS='methods',
              register_method='methods', load_adapted='runs', load_task='data', load_rotten_tomatoes='data',
              load_icd10cm='data', load_embedded='data', TaskData='data', load_classifier='models',
              AdaptConfig='config', TaskTokenizer='tokenization', predict_file='prediction', export_run='hub')
__all__ = list(_NAMES)

def __getattr__(name):
    if name not in _NAMES: raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib
    value = getattr(importlib.import_module(f'{__name__}.{_NAMES[name]}'), name)
    globals()[name] = value
    return value

def __dir__(): return sorted(set(globals()) | set(__all__))
