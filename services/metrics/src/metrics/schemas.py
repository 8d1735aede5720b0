"""What the aggregate routes answer: published cells only. A withheld cell has no value."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Cell(BaseModel):
    measure: str
    dimension: str
    value: int | float | None = Field(description="None when withheld")
    withheld: bool


class ScopedCell(Cell):
    scope: str = Field(description="A site, a region (region:<name>) or the authority")


class RegionCells(BaseModel):
    scope: str
    cells: list[Cell]


class SiteAggregates(BaseModel):
    site_id: str
    period: str
    suppress_below: int
    cells: list[Cell]
    region: RegionCells | None = Field(
        description="The site's region, when grouped: a small site's figures are mostly withheld"
    )


class AuthorityAggregates(BaseModel):
    period: str
    suppress_below: int
    roll_up: str = Field(description="The scope of the authority's totals")
    cells: list[ScopedCell]


class Periods(BaseModel):
    periods: list[str]


class SiteEntryOut(BaseModel):
    site_id: str
    region: str | None
    staff_count: int | None


class Sites(BaseModel):
    sites: list[SiteEntryOut]
