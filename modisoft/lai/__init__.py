"""LAI: products with QA, spectral indices, per-cover-type retrieval with clumping,
calibration and validation, relations between sensors (VIIRS ↔ MODIS, AVHRR → MODIS), and AVHRR
LAI tied to MODIS (GLOBMAP recipe).

See ``docs/concepts/lai-retrieval.md`` (what and why) and ``docs/how-to/lai-retrieval.md``.
"""

from modisoft.lai.avhrr import apply_avhrr_relation, fit_avhrr_relation
from modisoft.lai.brdf import BrdfTable, iterate_lai, load_brdf_table
from modisoft.lai.calibrate import agreement, calibrate, fit_curve
from modisoft.lai.cover import decode_polder_clumping, map_cover
from modisoft.lai.curves import FORMS, Curve, curve_index, curve_lai
from modisoft.lai.indices import (
    INDEX_BANDS,
    INDICES,
    evi,
    find_bands,
    msr,
    ndvi,
    rsr,
    spectral_index,
    sr,
)
from modisoft.lai.landcover import open_landcover, resample_landcover
from modisoft.lai.params import (
    LaiParameterError,
    LaiParams,
    default_params,
    load_clumping,
    load_cover_mapping,
    load_curves,
    write_curves,
)
from modisoft.lai.product import product_lai, product_lai_stack
from modisoft.lai.relation import (
    apply_relation,
    fit_relation,
    invert_relation,
    relation_from_record,
    relation_record,
)
from modisoft.lai.retrieve import LAI_FLAGS, NONVEG_FLAGS, retrieve_lai
from modisoft.lai.validate import density_plot, validation_stats

__all__ = [
    "FORMS",
    "INDEX_BANDS",
    "INDICES",
    "LAI_FLAGS",
    "NONVEG_FLAGS",
    "BrdfTable",
    "Curve",
    "LaiParameterError",
    "LaiParams",
    "agreement",
    "apply_avhrr_relation",
    "apply_relation",
    "calibrate",
    "curve_index",
    "curve_lai",
    "decode_polder_clumping",
    "default_params",
    "density_plot",
    "evi",
    "find_bands",
    "fit_avhrr_relation",
    "fit_curve",
    "fit_relation",
    "invert_relation",
    "iterate_lai",
    "load_brdf_table",
    "load_clumping",
    "load_cover_mapping",
    "load_curves",
    "map_cover",
    "msr",
    "open_landcover",
    "ndvi",
    "product_lai",
    "product_lai_stack",
    "relation_from_record",
    "relation_record",
    "resample_landcover",
    "retrieve_lai",
    "rsr",
    "spectral_index",
    "sr",
    "validation_stats",
    "write_curves",
]
